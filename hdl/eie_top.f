# eie_top: the accelerator (PEs, LNZD tree, CCU, AXI4-Lite slave)
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
eie_pe.sv
eie_lnzd_node.sv
eie_lnzd_tree.sv
eie_axil_slave.sv
eie_ccu.sv
eie_stream_recorder.sv
eie_top.sv
