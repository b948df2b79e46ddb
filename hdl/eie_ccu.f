# eie_ccu: central control unit and what it instantiates
eie_reg_pkg.sv
eie_act_queue.sv
eie_ccu.sv
