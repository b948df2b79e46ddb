# eie_arith: arithmetic unit (4-stage MAC with bypass, write-back pass) and what it instantiates
eie_sram_dp.sv
eie_act_queue.sv
eie_arith.sv
