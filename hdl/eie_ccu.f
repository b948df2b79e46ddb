# eie_ccu: central control unit and what it instantiates
eie_act_queue.sv
eie_ccu.sv
