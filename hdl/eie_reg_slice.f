# eie_reg_slice: register slice (two-entry skid buffer) on a valid/ready stream (its own unit bench)
eie_reg_slice.sv
