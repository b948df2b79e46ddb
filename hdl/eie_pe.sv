// EIE processing element: activation queue -> pointer read -> sparse-matrix read -> arithmetic unit,
// with the ping-pong activation buffers and the local leading-non-zero detector (eie_act_rw).
//
// One layer, as the array's CCU drives it (docs/pe-contract.md, docs/architecture.md):
//   1. layer_start_i (while ready_o): the cfg_* inputs are taken as the layer's configuration and
//      must stay stable until layer_done_o. The local LNZD starts scanning the source buffer
//      (nz_* stream, global indices j = r*NUM_PE + pe_id_i < cfg_in_len_i) and the PE counts its
//      output rows (r with r*NUM_PE + pe_id_i < cfg_out_len_i) by stepping a global index by NUM_PE,
//      so no divider is needed.
//   2. Broadcast pairs (j, a_j) enter the activation queue (bc_*); bc_ready_o is the queue's not-full,
//      with no combinational path from bc_valid_i. Each column's entries stream through the
//      front end into the 4-stage multiply-accumulate.
//   3. bcast_end_i (pulse, any time after layer_start_i, at the earliest in the cycle of the last
//      pair's bc_valid_i): no more pairs come for this layer. The bias pair (j = cfg_in_len_i, the
//      last one broadcast) is marked through the front end (an extra activation bit), and its
//      entries are not accumulated like the others: once the row count and the local scan are
//      finished and either the bias column's first entry is on the arithmetic unit's input or the
//      queue and the front end are empty, the write-back pass starts (eie_arith; entries still in
//      its pipeline are fine): it walks the local rows one per cycle, adds each row's bias entry in
//      that row's cycle, converts the row into the destination buffer (ReLU per cfg_relu_i) and
//      clears it. So the bias column costs no cycle beyond the pass. The buffers swap roles at the
//      edge that writes the last row and layer_done_o rises right after it (it stays high until
//      the next layer_start_i).
// I/O mode (io_*, only while ready_o): write pointer banks, sparse-matrix words and either activation
// buffer; read either activation buffer (io_rvalid_o one cycle after the request).
//
// Counters (cleared by cnt_clear_i, saturating at 2^32-1), counted only between layer_start_i and
// layer_done_o: busy (an entry is in the front end or the pipeline), starved (the queue is empty and
// nothing is in flight but the layer's broadcast is not over), blocked (the queue is full, so the
// CCU cannot broadcast).
`default_nettype none

module eie_pe #(
    parameter int NUM_PE     = 4,      // PEs in the array (row interleave), >= 1
    parameter int FIFO_DEPTH = 8,      // activation-queue depth, >= 1
    parameter int IDX_W      = 15,     // bits of a column index j and of layer lengths
    parameter int ACT_W      = 16,     // activation bits (signed)
    parameter int W_W        = 16,     // decoded weight bits (signed)
    parameter int ACC_W      = 32,     // accumulator bits (signed, saturating)
    parameter int GUARD      = 8,      // accumulator fraction bits below the output LSB
    parameter int SHIFT_W    = 5,      // bits of the per-layer product shift
    parameter int PTR_W      = 18,     // pointer bits (absolute entry address)
    parameter int PTR_DEPTH  = 32768,  // pointers (two banks of PTR_DEPTH/2)
    parameter int SPM_WORDS  = 16384,  // 64-bit sparse-matrix words
    parameter int ACT_DEPTH  = 1024,   // local activations per buffer (and accumulators)
    parameter int LANES      = 2,      // multiply-accumulate lanes: 2 (dual issue under FLAGS.DUAL), or 1
                                       //   (the paper's PE: one MAC; FLAGS.DUAL then has no effect)
    parameter int IO_AW      = 20,     // bits of io_addr_i (>= every memory's address width)
    // derived, do not override
    parameter int BANK_AW    = $clog2(PTR_DEPTH / 2),
    parameter int SPM_AW     = $clog2(SPM_WORDS),
    parameter int ROW_W      = $clog2(ACT_DEPTH),
    parameter int ROWS_W     = $clog2(ACT_DEPTH + 1)
) (
    input  wire logic                 clk_i,
    input  wire logic                 rst_ni,
    // this PE, 0..NUM_PE-1: a constant tie-off (a port, not a parameter, so that all PEs of an
    // array are one parameterization: one Verilator hierarchical block; checked at layer start)
    input  wire logic [15:0]          pe_id_i,
    // layer configuration (stable from layer_start_i to layer_done_o)
    input  wire logic [IDX_W-1:0]     cfg_ptr_base_i,
    input  wire logic [16*W_W-1:0]    cfg_codebook_i,
    input  wire logic [SHIFT_W-1:0]   cfg_shift_i,
    input  wire logic                 cfg_relu_i,
    input  wire logic                 cfg_pad_skip_i,  // FLAGS.PAD_SKIP (used while codebook[0] == 0)
    input  wire logic                 cfg_dual_i,      // FLAGS.DUAL (used with LANES = 2)
    input  wire logic [IDX_W-1:0]     cfg_in_len_i,
    input  wire logic [IDX_W-1:0]     cfg_out_len_i,
    // layer control
    input  wire logic                 layer_start_i,
    input  wire logic                 bcast_end_i,
    output logic                      layer_done_o,
    output logic                      ready_o,        // idle: accepts layer_start_i and I/O
    // broadcast in
    input  wire logic                 bc_valid_i,
    output logic                      bc_ready_o,
    input  wire logic [IDX_W-1:0]     bc_idx_i,
    input  wire logic [ACT_W-1:0]     bc_act_i,
    // local non-zero activations out (to the LNZD tree)
    output logic                      nz_valid_o,
    input  wire logic                 nz_ready_i,
    output logic [IDX_W-1:0]          nz_idx_o,
    output logic [ACT_W-1:0]          nz_act_o,
    output logic                      nz_done_o,
    // I/O port
    input  wire logic                 io_en_i,
    input  wire logic                 io_we_i,
    input  wire logic [2:0]           io_mem_i,       // eie_reg_pkg Mem*: ptr even/odd, spm, act src/dst
    input  wire logic [IO_AW-1:0]     io_addr_i,
    input  wire logic [63:0]          io_wdata_i,
    output logic                      io_rvalid_o,
    output logic [63:0]               io_rdata_o,
    // status
    output logic                      err_o,          // sticky: range, row or length error
    input  wire logic                 err_clear_i,
    output logic [eie_reg_pkg::PeErrBits-1:0] err_code_o,  // PE_ERR: {io address, len, rows, row, range}
    input  wire logic                 cnt_clear_i,
    output logic [31:0]               cnt_busy_o,
    output logic [31:0]               cnt_starved_o,
    output logic [31:0]               cnt_blocked_o,
    // write-back trace, for observation only (eie_top's simulation-side recorder reads it; eie_top
    // leaves it open in synthesis, so it costs nothing there): a row moves into the destination buffer
    output logic                      wb_valid_o,
    output logic [ROW_W-1:0]          wb_row_o,
    output logic [ACT_W-1:0]          wb_data_o,
    // arithmetic-unit entry trace, for observation only (the hazard probe, verif/tb/top_monitors.py;
    // open in synthesis): an entry is offered (hz_valid_o), taken when hz_ready_o is high too, and
    // adds to local row hz_row_o
    output logic                      hz_valid_o,
    output logic                      hz_ready_o,
    output logic [ROW_W-1:0]          hz_row_o,
    // simulation-only back door (ignored in synthesis, where eie_top ties it to 0): at a rising
    // edge where bd_id_i is new and > 0, words 0..bd_words_i-1 of memory bd_mem_i (eie_reg_pkg
    // Mem*; the activation buffers by role) are read from the file "eie_bd_<bd_id_i>.hex" of the
    // simulator's working folder ($readmemh, no cycles spent; verif/backdoor.py). Only while the
    // PE is idle; a load of the sparse-matrix memory must be followed by a port write of its word
    // 0 (the read unit keeps a copy of the last word it read).
    input  wire logic [2:0]           bd_mem_i,
    input  wire logic [31:0]          bd_words_i,
    input  wire logic [31:0]          bd_id_i
);

  initial begin
    if (LANES != 1 && LANES != 2) begin
      $display("%m: LANES = %0d must be 1 or 2", LANES);
      $fatal(1);
    end
    if (NUM_PE < 1 || NUM_PE > 65536) begin
      $display("%m: NUM_PE = %0d must be in 1..65536", NUM_PE);
      $fatal(1);
    end
    if (IO_AW < BANK_AW || IO_AW < SPM_AW || IO_AW < ROW_W) begin
      $display("%m: IO_AW = %0d narrower than a memory address (bank %0d, spm %0d, act %0d)",
               IO_AW, BANK_AW, SPM_AW, ROW_W);
      $fatal(1);
    end
    if (BANK_AW != $clog2(PTR_DEPTH / 2) || SPM_AW != $clog2(SPM_WORDS) ||
        ROW_W != $clog2(ACT_DEPTH) || ROWS_W != $clog2(ACT_DEPTH + 1)) begin
      $display("%m: BANK_AW, SPM_AW, ROW_W and ROWS_W are derived, do not override them");
      $fatal(1);
    end
  end

  // ------------------------------------------------------------------ sequencing
  typedef enum logic [2:0] {
    StIdle,   // ready for I/O and layer_start_i
    StRun,    // broadcasts arrive and are processed
    StDrain,  // broadcast over: wait for queue, front end, row count, local scan
    StWb      // write-back pass running (the arithmetic unit drains its pipeline first); the
              // buffers swap at the edge that writes the last row
  } state_e;

  state_e state_q, state_d;
  logic   end_seen_q, end_seen_d;
  logic   done_q, done_d;

  // output-row count: r with r*NUM_PE + pe_id_i < out_len, by stepping g = pe_id_i + r*NUM_PE
  logic [31:0]       rows_g_q;
  logic [ROWS_W:0]   rows_q;      // one bit wider: counts past ACT_DEPTH to flag the error
  logic              rows_busy_q;
  logic              err_rows_q;

  // sub-unit wires
  logic              q_pop_valid, q_pop_ready, q_full, q_empty;
  logic [$clog2(FIFO_DEPTH + 1)-1:0] q_level;
  logic [IDX_W-1:0]  q_pop_idx;
  logic [ACT_W-1:0]  q_pop_act;
  logic              ent_valid, ent_ready, ent_first, ent_last;
  logic [ROW_W-1:0]  ent_row;
  logic [3:0]        ent_v;
  logic [4:0]        ent_z;
  logic [ACT_W-1:0]  ent_act;
  logic              ent_bias;           // the entry belongs to the bias column (j = cfg_in_len_i)
  // the front end carries the bias-column mark as an extra activation bit (MSB); plain wires for the
  // port connections (Yosys 0.70 fails, "modules_.count(module->name) == 0", on a concatenation at an instance port)
  logic [ACT_W:0]    fe_col_act, fe_ent_act;
  logic              fe_pad_skip, fe_dual;
  assign fe_col_act  = {q_pop_idx == cfg_in_len_i, q_pop_act};
  // the entry stream passes a register slice between the sparse-matrix read unit and the arithmetic
  // unit: the SRAM word's byte selection (and the padding-skip pairing) and the arithmetic unit's row
  // address, codebook and pass decisions fall in different cycles (docs/synthesis.md), for one cycle
  // of latency per column stream and no loss of throughput
  logic              fe_ent_valid, fe_ent_ready, fe_ent_first, fe_ent_last, unused_slice_empty;
  logic [3:0]        fe_ent_v, fe_ent_v2, ent_v2;
  logic [4:0]        fe_ent_z;
  logic [5:0]        fe_ent_dz, ent_dz;
  logic              fe_ent_dual, ent_dual;
  // {v, z, first, last, dual, v2, dz, bias mark, activation}
  logic [ACT_W+22:0] fe_ent_beat, ent_beat;
  assign fe_ent_beat = {fe_ent_v, fe_ent_z, fe_ent_first, fe_ent_last, fe_ent_dual, fe_ent_v2, fe_ent_dz,
                        fe_ent_act};
  assign {ent_v, ent_z, ent_first, ent_last, ent_dual, ent_v2, ent_dz, ent_bias, ent_act} = ent_beat;
  eie_reg_slice #(
    .WIDTH (4 + 5 + 2 + 11 + ACT_W + 1)
  ) u_ent_slice (
    .clk_i,
    .rst_ni,
    .valid_i (fe_ent_valid),
    .ready_o (fe_ent_ready),
    .data_i  (fe_ent_beat),
    .valid_o (ent_valid),
    .ready_i (ent_ready),
    .data_o  (ent_beat),
    .empty_o (unused_slice_empty)
  );
  assign fe_pad_skip = cfg_pad_skip_i && (cfg_codebook_i[W_W-1:0] == '0);
  assign fe_dual     = cfg_dual_i && (LANES == 2);
  logic              fe_busy, fe_err, empty_col;
  logic              ar_ready, ar_busy, ar_err;
  logic              wb_start, wb_done;
  logic              wbo_valid, wbo_ready;
  logic [ROW_W-1:0]  wbo_row;
  logic [ACT_W-1:0]  wbo_data;
  assign wb_valid_o = wbo_valid && wbo_ready;
  assign wb_row_o   = wbo_row;
  assign wb_data_o  = wbo_data;
  assign hz_valid_o = ent_valid;
  assign hz_ready_o = ent_ready;
  assign hz_row_o   = ent_row;
  logic              swap, scan_start, rw_err, src_sel;
  logic              act_io_en, act_rvalid;
  logic [ACT_W-1:0]  act_rdata;
  logic              in_flight, front_empty;

  assign ready_o      = (state_q == StIdle) && ar_ready;
  assign layer_done_o = done_q;
  assign scan_start   = layer_start_i && ready_o;
  assign in_flight    = fe_busy || ent_valid || ar_busy;
  // nothing left for the arithmetic unit to accept (it drains its own pipeline before reading)
  assign front_empty  = !q_pop_valid && !fe_busy && !ent_valid;

  always_comb begin
    state_d    = state_q;
    end_seen_d = end_seen_q;
    done_d     = done_q;
    wb_start   = 1'b0;
    swap       = 1'b0;
    case (state_q)
      StIdle: begin
        if (scan_start) begin
          state_d    = StRun;
          end_seen_d = 1'b0;
          done_d     = 1'b0;
        end
      end
      StRun: begin
        if (bcast_end_i || end_seen_q) state_d = StDrain;
      end
      StDrain: begin
        // The write-back pass adds the bias column (eie_arith): it starts when the bias column's
        // first entry is on the arithmetic unit's input (every earlier entry has been taken), or
        // when nothing is left in the front end. The arithmetic unit accepts wb_start only while
        // ready (not initialising, no pass).
        if ((front_empty || (ent_valid && ent_bias)) && !rows_busy_q && nz_done_o && ar_ready) begin
          wb_start = 1'b1;
          state_d  = StWb;
        end
      end
      StWb: begin
        // wb_done: the last row leaves the arithmetic unit at this edge and the act unit writes
        // it at the same edge (with the roles before the swap), so the destination is complete.
        if (wb_done) begin
          swap    = 1'b1;
          done_d  = 1'b1;
          state_d = StIdle;
        end
      end
      default: state_d = StIdle;
    endcase
    if (bcast_end_i && state_q == StRun) end_seen_d = 1'b1;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= StIdle;
      end_seen_q <= 1'b0;
      done_q     <= 1'b0;
    end else begin
      state_q    <= state_d;
      end_seen_q <= end_seen_d;
      done_q     <= done_d;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rows_g_q    <= '0;
      rows_q      <= '0;
      rows_busy_q <= 1'b0;
      err_rows_q  <= 1'b0;
    end else begin
      if (err_clear_i) err_rows_q <= 1'b0;
      if (scan_start) begin
        rows_g_q    <= 32'(pe_id_i);
        rows_q      <= '0;
        rows_busy_q <= 1'b1;
      end else if (rows_busy_q) begin
        if (rows_g_q < 32'(cfg_out_len_i)) begin
          rows_g_q <= rows_g_q + 32'(NUM_PE);
          rows_q   <= rows_q + 1'b1;
          if (32'(rows_q) >= ACT_DEPTH) err_rows_q <= 1'b1;  // one row more than fits
        end else begin
          rows_busy_q <= 1'b0;
        end
      end
    end
  end

  // ------------------------------------------------------------------ datapath
  eie_act_queue #(
    .DEPTH (FIFO_DEPTH),
    .IDX_W (IDX_W),
    .ACT_W (ACT_W)
  ) u_queue (
    .clk_i,
    .rst_ni,
    .push_valid_i (bc_valid_i),
    .push_ready_o (bc_ready_o),
    .push_idx_i   (bc_idx_i),
    .push_act_i   (bc_act_i),
    .pop_valid_o  (q_pop_valid),
    .pop_ready_i  (q_pop_ready),
    .pop_idx_o    (q_pop_idx),
    .pop_act_o    (q_pop_act),
    .full_o       (q_full),
    .empty_o      (q_empty),
    .level_o      (q_level)
  );

  logic              ptr_ld_en, spm_ld_en;
  logic              io_oob;

  logic              io_ok;
  assign io_ok     = io_en_i && ready_o && !io_oob;
  assign ptr_ld_en = io_ok && io_we_i &&
                     (io_mem_i == eie_reg_pkg::MemPtrEven || io_mem_i == eie_reg_pkg::MemPtrOdd);
  assign spm_ld_en = io_ok && io_we_i && (io_mem_i == eie_reg_pkg::MemSpm);

  eie_pe_frontend #(
    .IDX_W     (IDX_W),
    .ACT_W     (ACT_W + 1),   // the activation and the bias-column mark (MSB)
    .PTR_W     (PTR_W),
    .PTR_DEPTH (PTR_DEPTH),
    .SPM_WORDS (SPM_WORDS),
    .SINGLE_MSB(1)            // the bias column (its mark) is never dual-issued
  ) u_frontend (
    .clk_i,
    .rst_ni,
    .col_valid_i   (q_pop_valid),
    .col_ready_o   (q_pop_ready),
    .col_idx_i     (q_pop_idx),
    .col_act_i     (fe_col_act),
    .ptr_base_i    (cfg_ptr_base_i),
    .pad_skip_i    (fe_pad_skip),
    .dual_i        (fe_dual),
    .ent_valid_o   (fe_ent_valid),
    .ent_ready_i   (fe_ent_ready),
    .ent_v_o       (fe_ent_v),
    .ent_z_o       (fe_ent_z),
    .ent_first_o   (fe_ent_first),
    .ent_last_o    (fe_ent_last),
    .ent_act_o     (fe_ent_act),
    .ent_dual_o    (fe_ent_dual),
    .ent_v2_o      (fe_ent_v2),
    .ent_dz_o      (fe_ent_dz),
    .empty_col_o   (empty_col),
    .busy_o        (fe_busy),
    .clear_i       (err_clear_i),
    .err_range_o   (fe_err),
    .ptr_ld_en_i   (ptr_ld_en),
    .ptr_ld_bank_i (io_mem_i == eie_reg_pkg::MemPtrOdd),
    .ptr_ld_addr_i (io_addr_i[BANK_AW-1:0]),
    .ptr_ld_data_i (io_wdata_i[PTR_W-1:0]),
    .spm_ld_en_i   (spm_ld_en),
    .spm_ld_addr_i (io_addr_i[SPM_AW-1:0]),
    .spm_ld_data_i (io_wdata_i)
  );

  logic [ROWS_W-1:0] wb_rows;
  assign wb_rows = err_rows_q ? ROWS_W'(ACT_DEPTH) : rows_q[ROWS_W-1:0];

  eie_arith #(
    .W_W       (W_W),
    .ACT_W     (ACT_W),
    .ACC_W     (ACC_W),
    .GUARD     (GUARD),
    .SHIFT_W   (SHIFT_W),
    .ACT_DEPTH (ACT_DEPTH),
    .LANES     (LANES)
  ) u_arith (
    .clk_i,
    .rst_ni,
    .ent_valid_i (ent_valid),
    .ent_ready_o (ent_ready),
    .ent_v_i     (ent_v),
    .ent_z_i     (ent_z),
    .ent_first_i (ent_first),
    .ent_last_i  (ent_last),
    .ent_act_i   (ent_act),
    .ent_bias_i  (ent_bias),
    .ent_dual_i  (ent_dual),
    .ent_v2_i    (ent_v2),
    .ent_dz_i    (ent_dz),
    .ent_row_o   (ent_row),
    .codebook_i  (cfg_codebook_i),
    .shift_i     (cfg_shift_i),
    .relu_i      (cfg_relu_i),
    .wb_start_i  (wb_start),
    .wb_rows_i   (wb_rows),
    .wbo_valid_o (wbo_valid),
    .wbo_ready_i (wbo_ready),
    .wbo_row_o   (wbo_row),
    .wbo_data_o  (wbo_data),
    .wb_done_o   (wb_done),
    .ready_o     (ar_ready),
    .busy_o      (ar_busy),
    .err_row_o   (ar_err),
    .clear_i     (err_clear_i)
  );

  assign act_io_en = io_ok &&
                     (io_mem_i == eie_reg_pkg::MemActSrc || io_mem_i == eie_reg_pkg::MemActDst);

  eie_act_rw #(
    .ACT_DEPTH (ACT_DEPTH),
    .ACT_W     (ACT_W),
    .IDX_W     (IDX_W),
    .NUM_PE    (NUM_PE)
  ) u_act_rw (
    .clk_i,
    .rst_ni,
    .pe_id_i,
    .swap_i       (swap),
    .src_sel_o    (src_sel),
    .wbi_valid_i  (wbo_valid),
    .wbi_ready_o  (wbo_ready),
    .wbi_row_i    (wbo_row),
    .wbi_data_i   (wbo_data),
    .scan_start_i (scan_start),
    .in_len_i     (cfg_in_len_i),
    .nz_valid_o   (nz_valid_o),
    .nz_ready_i   (nz_ready_i),
    .nz_idx_o     (nz_idx_o),
    .nz_act_o     (nz_act_o),
    .nz_done_o    (nz_done_o),
    .err_len_o    (rw_err),
    .io_en_i      (act_io_en),
    .io_we_i      (io_we_i),
    .io_dst_i     (io_mem_i == eie_reg_pkg::MemActDst),
    .io_addr_i    (io_addr_i[ROW_W-1:0]),
    .io_wdata_i   (io_wdata_i[ACT_W-1:0]),
    .io_rvalid_o  (act_rvalid),
    .io_rdata_o   (act_rdata)
  );

  // Only the activation buffers are readable; a read of another memory answers 0 (documented).
  logic io_other_rvalid_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) io_other_rvalid_q <= 1'b0;
    else io_other_rvalid_q <= io_en_i && !io_we_i && ready_o && !act_io_en;
  end
  assign io_rvalid_o = act_rvalid || io_other_rvalid_q;
  assign io_rdata_o  = act_rvalid ? {{(64 - ACT_W){act_rdata[ACT_W-1]}}, act_rdata} : 64'd0;

  // ------------------------------------------------------------------ status and counters
  // An I/O access past the addressed memory is ignored and flagged, never wrapped.
  logic err_io_q;
  always_comb begin
    case (io_mem_i)
      eie_reg_pkg::MemPtrEven, eie_reg_pkg::MemPtrOdd: io_oob = (32'(io_addr_i) >= PTR_DEPTH / 2);
      eie_reg_pkg::MemSpm:                             io_oob = (32'(io_addr_i) >= SPM_WORDS);
      eie_reg_pkg::MemActSrc, eie_reg_pkg::MemActDst:  io_oob = (32'(io_addr_i) >= ACT_DEPTH);
      default:               io_oob = 1'b1;
    endcase
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) err_io_q <= 1'b0;
    else if (io_en_i && ready_o && io_oob) err_io_q <= 1'b1;
    else if (err_clear_i) err_io_q <= 1'b0;
  end

  assign err_code_o = {err_io_q, rw_err, err_rows_q, ar_err, fe_err};
  assign err_o      = |err_code_o;

  logic layer_active, busy_cycle, starved_cycle, blocked_cycle;
  assign layer_active  = (state_q != StIdle);
  assign busy_cycle    = layer_active && in_flight;
  assign starved_cycle = (state_q == StRun) && !end_seen_q && q_empty && !in_flight;
  assign blocked_cycle = layer_active && q_full;

  function automatic logic [31:0] sat_inc(input logic [31:0] x, input logic en);
    sat_inc = (en && x != 32'hFFFF_FFFF) ? x + 1 : x;
  endfunction

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cnt_busy_o    <= '0;
      cnt_starved_o <= '0;
      cnt_blocked_o <= '0;
    end else if (cnt_clear_i) begin
      cnt_busy_o    <= '0;
      cnt_starved_o <= '0;
      cnt_blocked_o <= '0;
    end else begin
      cnt_busy_o    <= sat_inc(cnt_busy_o, busy_cycle);
      cnt_starved_o <= sat_inc(cnt_starved_o, starved_cycle);
      cnt_blocked_o <= sat_inc(cnt_blocked_o, blocked_cycle);
    end
  end

  // ------------------------------------------------------------------ back door (simulation)
`ifndef SYNTHESIS
  // The request of the bd_* ports goes to the addressed SRAM's bd_load task (eie_sram_sp). The
  // hierarchical references stay inside the PE, so a Verilator hierarchical build (eie_pe one
  // block, hdl/eie_hier.vlt) allows them.
  // bd_armed_q: a reset has been seen (before it, a simulator may start with random values in
  // eie_top's request registers: Verilator's --x-initial unique)
  logic [31:0] bd_last_q;
  bit          bd_armed_q;
  initial bd_armed_q = 1'b0;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bd_last_q  <= '0;
      bd_armed_q <= 1'b1;
    end else if (bd_armed_q && bd_id_i != bd_last_q) begin
      bd_last_q <= bd_id_i;
      if (bd_id_i != '0) begin
        case (bd_mem_i)
          eie_reg_pkg::MemSpm:
            u_frontend.u_spm_read.u_spm.bd_load(int'(bd_id_i), int'(bd_words_i));
          eie_reg_pkg::MemPtrEven:
            u_frontend.u_ptr_read.u_even.bd_load(int'(bd_id_i), int'(bd_words_i));
          eie_reg_pkg::MemPtrOdd:
            u_frontend.u_ptr_read.u_odd.bd_load(int'(bd_id_i), int'(bd_words_i));
          // the source buffer is physical buffer src_sel, the destination the other one
          eie_reg_pkg::MemActSrc, eie_reg_pkg::MemActDst:
            if (src_sel ^ (bd_mem_i == eie_reg_pkg::MemActDst)) begin
              u_act_rw.g_buf[1].u_buf.bd_load(int'(bd_id_i), int'(bd_words_i));
            end else begin
              u_act_rw.g_buf[0].u_buf.bd_load(int'(bd_id_i), int'(bd_words_i));
            end
          default: begin
            $display("%m: back door of memory %0d (no such memory; eie_reg_pkg Mem*)", bd_mem_i);
            $fatal(1);
          end
        endcase
      end
    end
  end
`endif

  // empty_col and q_level are not needed; src_sel only by the simulation back door; the back-door
  // ports are unused in synthesis
  logic unused;
  assign unused = ^{empty_col, src_sel, q_level, bd_mem_i, bd_words_i, bd_id_i, unused_slice_empty};

endmodule

`resetall
`default_nettype wire
