// EIE accelerator top: NUM_PE processing elements, the LNZD tree that merges their non-zero
// activations, and the central control unit with the host interfaces (docs/interfaces.md):
//   - AXI4-Lite register slave (control, status, layer descriptors, performance counters),
//   - load stream (I/O mode): one 64-bit beat per word of a PE memory, addressed by (pe, mem, addr),
//   - output stream: the last layer's outputs (index, value) in index order.
// Every stream is valid/ready with back-pressure. The load and output streams pass through a
// register slice (eie_reg_slice) and the AXI4-Lite slave registers every channel, so no logic
// depends combinationally on a top-level input (docs/performance.md). Block diagram and timing:
// docs/architecture.md.
`default_nettype none

module eie_top #(
    parameter int NUM_PE     = 4,      // processing elements, >= 1 (any value)
    parameter int FIFO_DEPTH = 8,      // activation-queue depth per PE, >= 1
    parameter int MAX_LAYERS = 8,      // layer descriptors, 1..32
    parameter int IDX_W      = 15,     // column index / layer length bits (lengths up to 32767)
    parameter int ACT_W      = 16,     // activation bits
    parameter int W_W        = 16,     // codebook weight bits, <= 16
    parameter int ACC_W      = 32,     // accumulator bits
    parameter int GUARD      = 8,      // accumulator fraction bits below the output LSB
    parameter int SHIFT_W    = 5,      // product shift bits
    parameter int PTR_W      = 18,     // pointer bits (absolute sparse-matrix entry address)
    parameter int PTR_DEPTH  = 32768,  // pointers per PE (two banks)
    parameter int SPM_WORDS  = 16384,  // 64-bit sparse-matrix words per PE (128 KB)
    parameter int ACT_DEPTH  = 1024,   // activations per PE per buffer (and accumulators)
    parameter int LANES      = 2,      // MAC lanes per PE: 2 (dual issue under FLAGS.DUAL) or 1 (the paper's PE)
    parameter int IO_AW      = 20,     // load-stream address bits
    parameter int PE_W       = 16,     // load-stream PE-number bits
    parameter int AXIL_AW    = 12      // register byte-address bits
) (
    input  wire logic               clk_i,
    input  wire logic               rst_ni,
    // AXI4-Lite registers
    input  wire logic               s_axil_awvalid_i,
    output logic                    s_axil_awready_o,
    input  wire logic [AXIL_AW-1:0] s_axil_awaddr_i,
    input  wire logic               s_axil_wvalid_i,
    output logic                    s_axil_wready_o,
    input  wire logic [31:0]        s_axil_wdata_i,
    input  wire logic [3:0]         s_axil_wstrb_i,
    output logic                    s_axil_bvalid_o,
    input  wire logic               s_axil_bready_i,
    output logic [1:0]              s_axil_bresp_o,
    input  wire logic               s_axil_arvalid_i,
    output logic                    s_axil_arready_o,
    input  wire logic [AXIL_AW-1:0] s_axil_araddr_i,
    output logic                    s_axil_rvalid_o,
    input  wire logic               s_axil_rready_i,
    output logic [31:0]             s_axil_rdata_o,
    output logic [1:0]              s_axil_rresp_o,
    // load stream
    input  wire logic               ld_valid_i,
    output logic                    ld_ready_o,
    input  wire logic [PE_W-1:0]    ld_pe_i,
    input  wire logic [2:0]         ld_mem_i,       // 0 ptr even, 1 ptr odd, 2 spm, 3 act src, 4 act dst
    input  wire logic [IO_AW-1:0]   ld_addr_i,
    input  wire logic [63:0]        ld_data_i,
    // output stream
    output logic                    out_valid_o,
    input  wire logic               out_ready_i,
    output logic [IDX_W-1:0]        out_idx_o,
    output logic [ACT_W-1:0]        out_data_o,
    output logic                    out_last_o,
    // status
    output logic                    busy_o,
    output logic                    done_o,
    output logic                    error_o
);

  localparam int PE_ERR_W = eie_reg_pkg::PeErrBits;   // PE_ERR register (hdl/eie_regs.rdl)

  initial begin
    if (NUM_PE < 1 || NUM_PE > (1 << PE_W)) begin
      $display("%m: NUM_PE = %0d must be in 1..2^PE_W", NUM_PE);
      $fatal(1);
    end
  end

  // register port
  logic               reg_wr, reg_wr_err, reg_rd, reg_rd_err;
  logic [AXIL_AW-1:0] reg_waddr, reg_raddr;
  logic [31:0]        reg_wdata, reg_rdata;
  logic [3:0]         reg_wstrb;

  eie_axil_slave #(.ADDR_W(AXIL_AW)) u_axil (
    .clk_i,
    .rst_ni,
    .s_axil_awvalid_i, .s_axil_awready_o, .s_axil_awaddr_i,
    .s_axil_wvalid_i,  .s_axil_wready_o,  .s_axil_wdata_i, .s_axil_wstrb_i,
    .s_axil_bvalid_o,  .s_axil_bready_i,  .s_axil_bresp_o,
    .s_axil_arvalid_i, .s_axil_arready_o, .s_axil_araddr_i,
    .s_axil_rvalid_o,  .s_axil_rready_i,  .s_axil_rdata_o, .s_axil_rresp_o,
    .reg_wr_o     (reg_wr),
    .reg_waddr_o  (reg_waddr),
    .reg_wdata_o  (reg_wdata),
    .reg_wstrb_o  (reg_wstrb),
    .reg_wr_err_i (reg_wr_err),
    .reg_rd_o     (reg_rd),
    .reg_raddr_o  (reg_raddr),
    .reg_rdata_i  (reg_rdata),
    .reg_rd_err_i (reg_rd_err)
  );

  // Load stream: a register slice in front of the CCU. A beat enters it only in a cycle where the
  // CCU takes loads (ccu_ld_ready: idle and every PE ready, from registers, no top input), so the
  // CCU takes it the next cycle, before a START written after the beat's handshake takes effect.
  localparam int LD_W = PE_W + 3 + IO_AW + 64;
  logic             ccu_ld_valid, ccu_ld_ready, ld_slice_ready;
  logic [LD_W-1:0]  ccu_ld_beat;
  logic [PE_W-1:0]  ccu_ld_pe;
  logic [2:0]       ccu_ld_mem;
  logic [IO_AW-1:0] ccu_ld_addr;
  logic [63:0]      ccu_ld_data;
  logic             ld_slice_empty;

  assign ld_ready_o = ld_slice_ready && ccu_ld_ready;

  eie_reg_slice #(.WIDTH(LD_W)) u_ld_slice (
    .clk_i,
    .rst_ni,
    .valid_i (ld_valid_i && ccu_ld_ready),
    .ready_o (ld_slice_ready),
    .data_i  ({ld_pe_i, ld_mem_i, ld_addr_i, ld_data_i}),
    .valid_o (ccu_ld_valid),
    .ready_i (ccu_ld_ready),
    .data_o  (ccu_ld_beat),
    .empty_o (ld_slice_empty)
  );
  assign {ccu_ld_pe, ccu_ld_mem, ccu_ld_addr, ccu_ld_data} = ccu_ld_beat;
  logic unused_ld_slice;
  assign unused_ld_slice = ld_slice_empty;

  // Output stream: the CCU's output queue -> a register slice -> out_*.
  localparam int OUT_W = IDX_W + ACT_W + 1;
  logic             ccu_out_valid, ccu_out_ready, ccu_out_last, out_slice_empty;
  logic [IDX_W-1:0] ccu_out_idx;
  logic [ACT_W-1:0] ccu_out_data;

  eie_reg_slice #(.WIDTH(OUT_W)) u_out_slice (
    .clk_i,
    .rst_ni,
    .valid_i (ccu_out_valid),
    .ready_o (ccu_out_ready),
    .data_i  ({ccu_out_idx, ccu_out_data, ccu_out_last}),
    .valid_o (out_valid_o),
    .ready_i (out_ready_i),
    .data_o  ({out_idx_o, out_data_o, out_last_o}),
    .empty_o (out_slice_empty)
  );

  // CCU <-> PEs
  logic [IDX_W-1:0]            cfg_ptr_base, cfg_in_len, cfg_out_len;
  logic [16*W_W-1:0]           cfg_codebook;
  logic [SHIFT_W-1:0]          cfg_shift;
  logic                        cfg_relu, cfg_pad_skip, cfg_dual, layer_start, bcast_end, bc_valid, io_we, err_clear, cnt_clear;
  logic [IDX_W-1:0]            bc_idx;
  logic [ACT_W-1:0]            bc_act;
  logic [NUM_PE-1:0]           io_en;
  logic [2:0]                  io_mem;
  logic [IO_AW-1:0]            io_addr;
  logic [63:0]                 io_wdata;
  logic [NUM_PE-1:0]           bc_ready, pe_ready, layer_done, pe_err, io_rvalid;
  logic [NUM_PE*PE_ERR_W-1:0]  pe_err_code;
  logic [NUM_PE*ACT_W-1:0]     io_rdata;
  logic [NUM_PE*32-1:0]        cnt_busy, cnt_starved, cnt_blocked;
  // PEs <-> LNZD tree
  logic [NUM_PE-1:0]           nz_valid, nz_ready, nz_done;
  logic [NUM_PE*IDX_W-1:0]     nz_idx;
  logic [NUM_PE*ACT_W-1:0]     nz_act;
  logic                        tree_start, root_valid, root_ready, root_done;
  logic [IDX_W-1:0]            root_idx;
  logic [ACT_W-1:0]            root_act;

  eie_ccu #(
    .NUM_PE     (NUM_PE),
    .FIFO_DEPTH (FIFO_DEPTH),
    .MAX_LAYERS (MAX_LAYERS),
    .IDX_W      (IDX_W),
    .ACT_W      (ACT_W),
    .W_W        (W_W),
    .SHIFT_W    (SHIFT_W),
    .PTR_DEPTH  (PTR_DEPTH),
    .SPM_WORDS  (SPM_WORDS),
    .ACT_DEPTH  (ACT_DEPTH),
    .IO_AW      (IO_AW),
    .ADDR_W     (AXIL_AW),
    .PE_W       (PE_W),
    .PE_ERR_W   (PE_ERR_W)
  ) u_ccu (
    .clk_i,
    .rst_ni,
    .reg_wr_i       (reg_wr),
    .reg_waddr_i    (reg_waddr),
    .reg_wdata_i    (reg_wdata),
    .reg_wstrb_i    (reg_wstrb),
    .reg_wr_err_o   (reg_wr_err),
    .reg_rd_i       (reg_rd),
    .reg_raddr_i    (reg_raddr),
    .reg_rdata_o    (reg_rdata),
    .reg_rd_err_o   (reg_rd_err),
    .ld_valid_i     (ccu_ld_valid),
    .ld_ready_o     (ccu_ld_ready),
    .ld_pe_i        (ccu_ld_pe),
    .ld_mem_i       (ccu_ld_mem),
    .ld_addr_i      (ccu_ld_addr),
    .ld_data_i      (ccu_ld_data),
    .out_valid_o    (ccu_out_valid),
    .out_ready_i    (ccu_out_ready),
    .out_idx_o      (ccu_out_idx),
    .out_data_o     (ccu_out_data),
    .out_last_o     (ccu_out_last),
    .out_pending_i  (!out_slice_empty),
    .busy_o, .done_o, .error_o,
    .tree_start_o   (tree_start),
    .root_valid_i   (root_valid),
    .root_ready_o   (root_ready),
    .root_idx_i     (root_idx),
    .root_act_i     (root_act),
    .root_done_i    (root_done),
    .cfg_ptr_base_o (cfg_ptr_base),
    .cfg_codebook_o (cfg_codebook),
    .cfg_shift_o    (cfg_shift),
    .cfg_relu_o     (cfg_relu),
    .cfg_pad_skip_o (cfg_pad_skip),
    .cfg_dual_o     (cfg_dual),
    .cfg_in_len_o   (cfg_in_len),
    .cfg_out_len_o  (cfg_out_len),
    .layer_start_o  (layer_start),
    .bcast_end_o    (bcast_end),
    .bc_valid_o     (bc_valid),
    .bc_idx_o       (bc_idx),
    .bc_act_o       (bc_act),
    .io_en_o        (io_en),
    .io_we_o        (io_we),
    .io_mem_o       (io_mem),
    .io_addr_o      (io_addr),
    .io_wdata_o     (io_wdata),
    .err_clear_o    (err_clear),
    .cnt_clear_o    (cnt_clear),
    .bc_ready_i     (bc_ready),
    .pe_ready_i     (pe_ready),
    .layer_done_i   (layer_done),
    .pe_err_i       (pe_err),
    .pe_err_code_i  (pe_err_code),
    .io_rvalid_i    (io_rvalid),
    .io_rdata_i     (io_rdata),
    .cnt_busy_i     (cnt_busy),
    .cnt_starved_i  (cnt_starved),
    .cnt_blocked_i  (cnt_blocked)
  );

  for (genvar k = 0; k < NUM_PE; k++) begin : g_pe
    logic [63:0] pe_rdata;   // the PE's 64-bit read data; the CCU takes the activation bits

    logic                         wb_valid;   // write-back trace (simulation-side recorder below)
    logic [$clog2(ACT_DEPTH)-1:0] wb_row;
    logic [ACT_W-1:0]             wb_data;
    logic                         hz_valid;   // entry trace (hazard probe, verif/tb/top_monitors.py)
    logic                         hz_ready;
    logic [$clog2(ACT_DEPTH)-1:0] hz_row;
    logic unused_hz;                          // observed by the benches only
    assign unused_hz = ^{hz_valid, hz_ready, hz_row};

    // Back-door request of this PE (eie_pe bd_* ports; simulation only, tied to 0 in synthesis):
    // the bench deposits bd_mem_q, bd_words_q and bd_id_q (verif/tb/pe_bfm.py), the PE sees them
    // one edge later. The register stage keeps every PE input off VPI-written variables (Verilator
    // re-evaluates whatever reads one combinationally on every evaluation).
    logic [2:0]  bd_mem;
    logic [31:0] bd_words, bd_id;
`ifndef SYNTHESIS
    logic [2:0]  bd_mem_q   = '0;
    logic [31:0] bd_words_q = '0;
    logic [31:0] bd_id_q    = '0;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        bd_mem   <= '0;
        bd_words <= '0;
        bd_id    <= '0;
      end else begin
        bd_mem   <= bd_mem_q;
        bd_words <= bd_words_q;
        bd_id    <= bd_id_q;
      end
    end
`else
    assign bd_mem   = '0;
    assign bd_words = '0;
    assign bd_id    = '0;
`endif

    eie_pe #(
      .NUM_PE     (NUM_PE),
      .FIFO_DEPTH (FIFO_DEPTH),
      .IDX_W      (IDX_W),
      .ACT_W      (ACT_W),
      .W_W        (W_W),
      .ACC_W      (ACC_W),
      .GUARD      (GUARD),
      .SHIFT_W    (SHIFT_W),
      .PTR_W      (PTR_W),
      .PTR_DEPTH  (PTR_DEPTH),
      .SPM_WORDS  (SPM_WORDS),
      .ACT_DEPTH  (ACT_DEPTH),
      .LANES      (LANES),
      .IO_AW      (IO_AW)
    ) u_pe (
      .clk_i,
      .rst_ni,
      .pe_id_i        (16'(k)),
      .cfg_ptr_base_i (cfg_ptr_base),
      .cfg_codebook_i (cfg_codebook),
      .cfg_shift_i    (cfg_shift),
      .cfg_relu_i     (cfg_relu),
      .cfg_pad_skip_i (cfg_pad_skip),
      .cfg_dual_i     (cfg_dual),
      .cfg_in_len_i   (cfg_in_len),
      .cfg_out_len_i  (cfg_out_len),
      .layer_start_i  (layer_start),
      .bcast_end_i    (bcast_end),
      .layer_done_o   (layer_done[k]),
      .ready_o        (pe_ready[k]),
      .bc_valid_i     (bc_valid),
      .bc_ready_o     (bc_ready[k]),
      .bc_idx_i       (bc_idx),
      .bc_act_i       (bc_act),
      .nz_valid_o     (nz_valid[k]),
      .nz_ready_i     (nz_ready[k]),
      .nz_idx_o       (nz_idx[k*IDX_W +: IDX_W]),
      .nz_act_o       (nz_act[k*ACT_W +: ACT_W]),
      .nz_done_o      (nz_done[k]),
      .io_en_i        (io_en[k]),
      .io_we_i        (io_we),
      .io_mem_i       (io_mem),
      .io_addr_i      (io_addr),
      .io_wdata_i     (io_wdata),
      .io_rvalid_o    (io_rvalid[k]),
      .io_rdata_o     (pe_rdata),
      .err_o          (pe_err[k]),
      .err_clear_i    (err_clear),
      .err_code_o     (pe_err_code[k*PE_ERR_W +: PE_ERR_W]),
      .cnt_clear_i    (cnt_clear),
      .cnt_busy_o     (cnt_busy[k*32 +: 32]),
      .cnt_starved_o  (cnt_starved[k*32 +: 32]),
      .cnt_blocked_o  (cnt_blocked[k*32 +: 32]),
      .wb_valid_o     (wb_valid),
      .wb_row_o       (wb_row),
      .wb_data_o      (wb_data),
      .hz_valid_o     (hz_valid),
      .hz_ready_o     (hz_ready),
      .hz_row_o       (hz_row),
      .bd_mem_i       (bd_mem),
      .bd_words_i     (bd_words),
      .bd_id_i        (bd_id)
    );

    assign io_rdata[k*ACT_W +: ACT_W] = pe_rdata[ACT_W-1:0];
    logic unused_rdata;
    assign unused_rdata = ^pe_rdata[63:ACT_W];

`ifndef SYNTHESIS
    // Simulation only: every write-back of this PE (its trace port) with the CCU's layer number,
    // read in bulk by the environment (verif/tb/recorder.py). In synthesis the trace is open.
    // Beat = {layer[7:0], local row, activation}.
    eie_stream_recorder #(
      .WIDTH (8 + $clog2(ACT_DEPTH) + ACT_W),
      .DEPTH (256)
    ) u_wb_rec (
      .clk_i,
      .valid_i (wb_valid),
      .ready_i (1'b1),
      .mark_i  (1'b0),
      .beat_i  ({8'(u_ccu.layer_q), wb_row, wb_data})
    );
`endif
  end

  eie_lnzd_tree #(
    .NUM_PE (NUM_PE),
    .IDX_W  (IDX_W),
    .ACT_W  (ACT_W)
  ) u_lnzd (
    .clk_i,
    .rst_ni,
    .start_i      (tree_start),
    .leaf_valid_i (nz_valid),
    .leaf_ready_o (nz_ready),
    .leaf_idx_i   (nz_idx),
    .leaf_act_i   (nz_act),
    .leaf_done_i  (nz_done),
    .out_valid_o  (root_valid),
    .out_ready_i  (root_ready),
    .out_idx_o    (root_idx),
    .out_act_o    (root_act),
    .done_o       (root_done)
  );

`ifndef SYNTHESIS
  // Simulation only: records every output beat so a testbench can read the stream in bulk
  // (hdl/eie_stream_recorder.sv, verif/tb/recorder.py). Beat = {last, index, activation}.
  eie_stream_recorder #(
    .WIDTH (1 + IDX_W + ACT_W),
    .DEPTH (4096)
  ) u_out_rec (
    .clk_i,
    .valid_i (out_valid_o),
    .ready_i (out_ready_i),
    .mark_i  (out_last_o),
    .beat_i  ({out_last_o, out_idx_o, out_data_o})
  );
`endif

endmodule

`resetall
`default_nettype wire
