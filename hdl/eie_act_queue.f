eie_act_queue.sv
