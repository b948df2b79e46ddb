eie_sram_sp.sv
eie_ptr_read.sv
eie_spm_read.sv
eie_pe_frontend.sv
