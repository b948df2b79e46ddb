eie_sram_sp.sv
eie_spm_read.sv
