eie_sram_sp.sv
eie_ptr_read.sv
