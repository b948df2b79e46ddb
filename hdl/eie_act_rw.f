# eie_act_rw: ping-pong activation buffers + local LNZD, and what it instantiates
eie_sram_sp.sv
eie_act_queue.sv
eie_lnzd_local.sv
eie_act_rw.sv
