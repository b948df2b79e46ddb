# eie_pe: one processing element and everything it instantiates
eie_reg_pkg.sv
eie_sram_sp.sv
eie_sram_dp.sv
eie_act_queue.sv
eie_ptr_read.sv
eie_spm_read.sv
eie_pe_frontend.sv
eie_arith.sv
eie_lnzd_local.sv
eie_act_rw.sv
eie_reg_slice.sv
eie_pe.sv
