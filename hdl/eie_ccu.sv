// EIE central control unit: registers and layer descriptors, I/O mode (load path, output stream)
// and computing mode (per layer: configure the PEs, broadcast the LNZD tree's non-zeros and the bias
// column, wait for every PE's write-back, swap; then stream the last layer's outputs).
//
// Register map, error codes and memory selects: hdl/eie_regs.rdl (docs/registers.md), as constants in
// eie_reg_pkg (generated: `make regs`). The load and output streams: docs/interfaces.md.
//
// Sequencing of a run (START written while idle):
//   CHECK   every descriptor 0..NUM_LAYERS-1 is checked (one per cycle); a descriptor that cannot
//           run stops the run with an error code (never a hang): see check_err below.
//   CFG     the layer's descriptor is copied into the PE configuration registers;
//   START   (all PEs ready) layer_start to every PE and start to the LNZD tree;
//   BCAST   the tree's root pairs go through one broadcast register to every PE's queue; a pair
//           moves only in a cycle where every queue has room (bc_valid_o = pending & all ready);
//   BIAS    (layer with bias) the pair (in_len, bias_act) follows the last input pair (it takes the
//           register in the cycle the tree reports its end when the register is free then);
//   END     bcast_end to every PE in the cycle the register broadcasts its last pair (or is empty);
//   WAIT    until every PE reports layer_done (write-back and swap done), then the next layer;
//   OUTPUT  the last layer's outputs are read from the PEs' source buffers in index order
//           (j = r*NUM_PE + k) and streamed out (out_*), with back-pressure; DONE once the last
//           beat has also left eie_top's output register slice (out_pending_i low).
`default_nettype none

module eie_ccu #(
    parameter int NUM_PE     = 4,      // PEs, >= 1
    parameter int FIFO_DEPTH = 8,      // the PEs' activation-queue depth (reported in HWCFG)
    parameter int MAX_LAYERS = 8,      // descriptors in the table, 1..32
    parameter int IDX_W      = 15,     // bits of a column index / layer length
    parameter int ACT_W      = 16,     // activation bits
    parameter int W_W        = 16,     // codebook weight bits (<= 16: two per register)
    parameter int SHIFT_W    = 5,      // product shift bits
    parameter int PTR_DEPTH  = 32768,  // pointers per PE
    parameter int SPM_WORDS  = 16384,  // sparse-matrix words per PE (reported in HWCFG)
    parameter int ACT_DEPTH  = 1024,   // activations per PE per buffer
    parameter int IO_AW      = 20,     // PE I/O address bits
    parameter int ADDR_W     = 12,     // register byte-address bits
    parameter int PE_W       = 16,     // bits of the load stream's PE field
    parameter int PE_ERR_W   = eie_reg_pkg::PeErrBits  // bits of a PE's error code (PE_ERR)
) (
    input  wire logic                      clk_i,
    input  wire logic                      rst_ni,
    // register port (from eie_axil_slave)
    input  wire logic                      reg_wr_i,
    input  wire logic [ADDR_W-1:0]         reg_waddr_i,
    input  wire logic [31:0]               reg_wdata_i,
    input  wire logic [3:0]                reg_wstrb_i,
    output logic                           reg_wr_err_o,
    input  wire logic                      reg_rd_i,
    input  wire logic [ADDR_W-1:0]         reg_raddr_i,
    output logic [31:0]                    reg_rdata_o,
    output logic                           reg_rd_err_o,
    // load stream (I/O mode)
    input  wire logic                      ld_valid_i,
    output logic                           ld_ready_o,
    input  wire logic [PE_W-1:0]           ld_pe_i,
    input  wire logic [2:0]                ld_mem_i,
    input  wire logic [IO_AW-1:0]          ld_addr_i,
    input  wire logic [63:0]               ld_data_i,
    // output stream
    output logic                           out_valid_o,
    input  wire logic                      out_ready_i,
    output logic [IDX_W-1:0]               out_idx_o,
    output logic [ACT_W-1:0]               out_data_o,
    output logic                           out_last_o,
    input  wire logic                      out_pending_i,  // a beat is still in eie_top's output slice
    // status
    output logic                           busy_o,
    output logic                           done_o,
    output logic                           error_o,
    // LNZD tree root
    output logic                           tree_start_o,
    input  wire logic                      root_valid_i,
    output logic                           root_ready_o,
    input  wire logic [IDX_W-1:0]          root_idx_i,
    input  wire logic [ACT_W-1:0]          root_act_i,
    input  wire logic                      root_done_i,
    // PEs: shared configuration and control
    output logic [IDX_W-1:0]               cfg_ptr_base_o,
    output logic [16*W_W-1:0]              cfg_codebook_o,
    output logic [SHIFT_W-1:0]             cfg_shift_o,
    output logic                           cfg_relu_o,
    output logic                           cfg_pad_skip_o,  // FLAGS.PAD_SKIP of the layer
    output logic                           cfg_dual_o,      // FLAGS.DUAL of the layer
    output logic [IDX_W-1:0]               cfg_in_len_o,
    output logic [IDX_W-1:0]               cfg_out_len_o,
    output logic                           layer_start_o,
    output logic                           bcast_end_o,
    output logic                           bc_valid_o,
    output logic [IDX_W-1:0]               bc_idx_o,
    output logic [ACT_W-1:0]               bc_act_o,
    output logic [NUM_PE-1:0]              io_en_o,
    output logic                           io_we_o,
    output logic [2:0]                     io_mem_o,
    output logic [IO_AW-1:0]               io_addr_o,
    output logic [63:0]                    io_wdata_o,
    output logic                           err_clear_o,
    output logic                           cnt_clear_o,
    // PEs: status
    input  wire logic [NUM_PE-1:0]         bc_ready_i,
    input  wire logic [NUM_PE-1:0]         pe_ready_i,
    input  wire logic [NUM_PE-1:0]         layer_done_i,
    input  wire logic [NUM_PE-1:0]         pe_err_i,
    input  wire logic [NUM_PE*PE_ERR_W-1:0] pe_err_code_i,
    input  wire logic [NUM_PE-1:0]         io_rvalid_i,
    input  wire logic [NUM_PE*ACT_W-1:0]   io_rdata_i,
    input  wire logic [NUM_PE*32-1:0]      cnt_busy_i,
    input  wire logic [NUM_PE*32-1:0]      cnt_starved_i,
    input  wire logic [NUM_PE*32-1:0]      cnt_blocked_i
);

  // ---------------------------------------------------------------- constants
  localparam int L_W = (MAX_LAYERS > 1) ? $clog2(MAX_LAYERS) : 1;
  localparam int K_W = (NUM_PE > 1) ? $clog2(NUM_PE) : 1;
  localparam int OUTQ_DEPTH = 4;

  initial begin
    if (NUM_PE < 1 || MAX_LAYERS < 1 || MAX_LAYERS > eie_reg_pkg::RegDescCount) begin
      $display("%m: NUM_PE = %0d (>= 1), MAX_LAYERS = %0d (1..32) out of range", NUM_PE, MAX_LAYERS);
      $fatal(1);
    end
    if (W_W > 16 || NUM_PE > (1 << PE_W) || ADDR_W < 12) begin
      $display("%m: W_W = %0d (<= 16), PE_W = %0d (NUM_PE must fit), ADDR_W = %0d (>= 12)",
               W_W, PE_W, ADDR_W);
      $fatal(1);
    end
  end

  // ---------------------------------------------------------------- descriptor table
  logic [IDX_W-1:0]   d_in_len_q   [MAX_LAYERS];
  logic [IDX_W-1:0]   d_out_len_q  [MAX_LAYERS];
  logic               d_relu_q     [MAX_LAYERS];
  logic               d_skip_q     [MAX_LAYERS];
  logic               d_dual_q     [MAX_LAYERS];
  logic               d_bias_q     [MAX_LAYERS];
  logic [ACT_W-1:0]   d_bias_act_q [MAX_LAYERS];
  logic [IDX_W-1:0]   d_ptr_base_q [MAX_LAYERS];
  logic [7:0]         d_shift_q    [MAX_LAYERS];
  logic [W_W-1:0]     d_cb_q       [16*MAX_LAYERS];   // codebook entry e of layer l at 16*l + e

  logic [eie_reg_pkg::NumLayersValueWidth-1:0] num_layers_q;
  logic [31:0]        pe_sel_q;

  // ---------------------------------------------------------------- sequencer state
  typedef enum logic [3:0] {
    StIdle, StCheck, StCfg, StStart, StBcast, StBias, StEnd, StWait, StLayerEnd, StOutput, StDone
  } state_e;

  state_e           state_q, state_d;
  logic [L_W-1:0]   layer_q, layer_d;
  logic             done_q, done_d;
  logic [eie_reg_pkg::ErrorCodeWidth-1:0] err_code_q, err_code_d;
  logic [7:0]       err_layer_q, err_layer_d;
  logic [15:0]      err_pe_q, err_pe_d;
  logic [PE_ERR_W-1:0] err_pe_code_q, err_pe_code_d;
  logic [31:0]      cycles_q;
  logic [31:0]      layer_cycles_q [MAX_LAYERS];
  logic [31:0]      bcast_count_q;
  logic [2:0]       arm_q;          // cycles since tree start: the root's done is trusted after it

  // broadcast register
  logic             bc_pending_q;
  logic [IDX_W-1:0] bc_idx_q;
  logic [ACT_W-1:0] bc_act_q;
  logic             all_bc_ready, bc_fire, bc_free;

  assign all_bc_ready = &bc_ready_i;
  assign bc_fire      = bc_pending_q && all_bc_ready;
  assign bc_free      = !bc_pending_q || all_bc_ready;
  assign bc_valid_o   = bc_fire;
  assign bc_idx_o     = bc_idx_q;
  assign bc_act_o     = bc_act_q;

  logic all_pe_ready, all_layer_done, any_pe_err, any_pe_err_q;
  logic root_over;                            // the tree has sent its last pair of the layer
  assign root_over = (arm_q == '1) && root_done_i && !root_valid_i;
  assign all_pe_ready   = &pe_ready_i;
  assign all_layer_done = &layer_done_i;
  assign any_pe_err     = any_pe_err_q;      // registered with first_err_pe (below)
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) any_pe_err_q <= 1'b0;
    else any_pe_err_q <= |pe_err_i;
  end

  // First PE with an error (for the ERROR register), registered: the PEs' error flags are sticky
  // registers, so one cycle of delay loses nothing, and a combinational priority loop feeding the
  // sequencer made Icarus 11 spin in zero time.
  logic [15:0]         first_err_pe;
  logic [PE_ERR_W-1:0] first_err_code;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      first_err_pe   <= '0;
      first_err_code <= '0;
    end else begin
      first_err_pe   <= '0;
      first_err_code <= '0;
      for (int k = NUM_PE - 1; k >= 0; k--) begin
        if (pe_err_i[k]) begin
          first_err_pe   <= 16'(k);
          first_err_code <= pe_err_code_i[k*PE_ERR_W +: PE_ERR_W];
        end
      end
    end
  end

  // ---------------------------------------------------------------- register writes
  // addresses, offsets and field positions: eie_reg_pkg (hdl/eie_regs.rdl)
  localparam int DescEnd = eie_reg_pkg::RegDesc + eie_reg_pkg::RegDescStride * MAX_LAYERS;
  localparam int LcEnd   = eie_reg_pkg::RegLayerCycles + eie_reg_pkg::RegLayerCyclesStride * MAX_LAYERS;
  localparam int CbBase   = eie_reg_pkg::DescCodebook;  // codebook word i at CbBase + CbStride * i
  localparam int CbStride = eie_reg_pkg::DescCodebookStride;
  localparam int CbEnd    = CbBase + CbStride * eie_reg_pkg::DescCodebookCount;

  logic start_cmd, clear_cmd;
  logic wr_desc;
  int   wr_l, wr_off, wr_cb;
  // bit selects as continuous assigns: Icarus 11 does not take constant selects in always_comb
  logic [W_W-1:0] wdata_lo, wdata_hi;
  logic           wdata_start, wdata_clear, waddr_unaligned, raddr_unaligned;
  logic [K_W-1:0] ld_pe_k;
  logic [31:0]    waddr, raddr;     // byte addresses, as wide as the package's constants
  assign waddr           = 32'(reg_waddr_i);
  assign raddr           = 32'(reg_raddr_i);
  assign wdata_lo        = W_W'(reg_wdata_i >> eie_reg_pkg::DescCodebookLoLsb);
  assign wdata_hi        = W_W'(reg_wdata_i >> eie_reg_pkg::DescCodebookHiLsb);
  assign wdata_start     = reg_wdata_i[eie_reg_pkg::CtrlStartLsb];
  assign wdata_clear     = reg_wdata_i[eie_reg_pkg::CtrlClearLsb];
  assign waddr_unaligned = |reg_waddr_i[1:0];
  assign raddr_unaligned = |reg_raddr_i[1:0];
  assign ld_pe_k         = ld_pe_i[K_W-1:0];

  always_comb begin
    wr_desc = (waddr >= eie_reg_pkg::RegDesc) && (waddr < DescEnd);
    wr_l    = wr_desc ? (waddr - eie_reg_pkg::RegDesc) / eie_reg_pkg::RegDescStride : 0;
    wr_off  = (waddr - eie_reg_pkg::RegDesc) % eie_reg_pkg::RegDescStride;
    // codebook word i holds entries 2i (LO) and 2i+1 (HI)
    wr_cb   = (wr_off >= CbBase && wr_off < CbEnd) ?
              16 * wr_l + 2 * ((wr_off - CbBase) / CbStride) : 0;
  end

  // a descriptor offset that holds a register (the rest of the stride is a hole: SLVERR)
  function automatic logic desc_mapped(input int off);
    desc_mapped = off == eie_reg_pkg::DescInLen || off == eie_reg_pkg::DescOutLen ||
           off == eie_reg_pkg::DescFlags || off == eie_reg_pkg::DescBiasAct ||
           off == eie_reg_pkg::DescPtrBase || off == eie_reg_pkg::DescShift ||
           (off >= CbBase && off < CbEnd);
  endfunction

  // A write is refused (SLVERR, no effect) when it targets a read-only or unmapped address, or
  // changes the descriptors or NUM_LAYERS while a run is going on.
  logic busy;
  assign busy = (state_q != StIdle);
  always_comb begin
    reg_wr_err_o = 1'b0;
    start_cmd    = 1'b0;
    clear_cmd    = 1'b0;
    if (reg_wr_i) begin
      if (waddr == eie_reg_pkg::RegCtrl) begin
        start_cmd = wdata_start && !busy;
        clear_cmd = wdata_clear && !busy;
        reg_wr_err_o = busy && (wdata_start || wdata_clear);
      end else if (waddr == eie_reg_pkg::RegNumLayers) begin
        reg_wr_err_o = busy;
      end else if (waddr == eie_reg_pkg::RegPeSel) begin
        reg_wr_err_o = 1'b0;
      end else if (wr_desc) begin
        reg_wr_err_o = busy || !desc_mapped(wr_off) || waddr_unaligned;
      end else begin
        reg_wr_err_o = 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      num_layers_q <= eie_reg_pkg::NumLayersReset;
      pe_sel_q     <= '0;
      for (int l = 0; l < MAX_LAYERS; l++) begin
        d_in_len_q[l]   <= '0;
        d_out_len_q[l]  <= '0;
        d_relu_q[l]     <= 1'b0;
        d_skip_q[l]     <= 1'b0;
        d_dual_q[l]     <= 1'b0;
        d_bias_q[l]     <= 1'b0;
        d_bias_act_q[l] <= '0;
        d_ptr_base_q[l] <= '0;
        d_shift_q[l]    <= '0;
      end
      for (int e = 0; e < 16 * MAX_LAYERS; e++) d_cb_q[e] <= '0;
    end else if (reg_wr_i && !reg_wr_err_o) begin
      if (waddr == eie_reg_pkg::RegNumLayers) begin
        num_layers_q <= reg_wdata_i[eie_reg_pkg::NumLayersValueWidth-1:0];
      end
      if (waddr == eie_reg_pkg::RegPeSel) pe_sel_q <= reg_wdata_i;
      if (wr_desc) begin
        case (wr_off)
          eie_reg_pkg::DescInLen:   d_in_len_q[wr_l]   <= IDX_W'(reg_wdata_i);
          eie_reg_pkg::DescOutLen:  d_out_len_q[wr_l]  <= IDX_W'(reg_wdata_i);
          eie_reg_pkg::DescFlags: begin
            d_relu_q[wr_l] <= reg_wdata_i[eie_reg_pkg::DescFlagsReluLsb];
            d_skip_q[wr_l] <= reg_wdata_i[eie_reg_pkg::DescFlagsPadSkipLsb];
            d_dual_q[wr_l] <= reg_wdata_i[eie_reg_pkg::DescFlagsDualLsb];
            d_bias_q[wr_l] <= reg_wdata_i[eie_reg_pkg::DescFlagsHasBiasLsb];
          end
          eie_reg_pkg::DescBiasAct: d_bias_act_q[wr_l] <= ACT_W'(reg_wdata_i);
          eie_reg_pkg::DescPtrBase: d_ptr_base_q[wr_l] <= IDX_W'(reg_wdata_i);
          eie_reg_pkg::DescShift:   d_shift_q[wr_l]    <= reg_wdata_i[7:0];
          default: begin
            if (wr_off >= CbBase && wr_off < CbEnd) begin
              d_cb_q[wr_cb]     <= wdata_lo;
              d_cb_q[wr_cb + 1] <= wdata_hi;
            end
          end
        endcase
      end
    end
  end

  // ---------------------------------------------------------------- register reads
  logic [K_W-1:0] sel_k;
  assign sel_k = K_W'(pe_sel_q);

  int rd_l, rd_off, rd_cb;
  always_comb begin
    reg_rdata_o  = '0;
    reg_rd_err_o = 1'b0;
    rd_l   = (raddr - eie_reg_pkg::RegDesc) / eie_reg_pkg::RegDescStride;
    rd_off = (raddr - eie_reg_pkg::RegDesc) % eie_reg_pkg::RegDescStride;
    rd_cb  = 16 * rd_l + 2 * ((rd_off - CbBase) / CbStride);
    if (raddr_unaligned) begin
      reg_rd_err_o = 1'b1;
    end else if (raddr >= eie_reg_pkg::RegDesc && raddr < DescEnd) begin
      case (rd_off)
        eie_reg_pkg::DescInLen:   reg_rdata_o = 32'(d_in_len_q[rd_l]);
        eie_reg_pkg::DescOutLen:  reg_rdata_o = 32'(d_out_len_q[rd_l]);
        eie_reg_pkg::DescFlags:   reg_rdata_o = (32'(d_relu_q[rd_l]) << eie_reg_pkg::DescFlagsReluLsb) |
                                                (32'(d_bias_q[rd_l]) << eie_reg_pkg::DescFlagsHasBiasLsb) |
                                                (32'(d_skip_q[rd_l]) << eie_reg_pkg::DescFlagsPadSkipLsb) |
                                                (32'(d_dual_q[rd_l]) << eie_reg_pkg::DescFlagsDualLsb);
        eie_reg_pkg::DescBiasAct: reg_rdata_o = 32'(d_bias_act_q[rd_l]);
        eie_reg_pkg::DescPtrBase: reg_rdata_o = 32'(d_ptr_base_q[rd_l]);
        eie_reg_pkg::DescShift:   reg_rdata_o = 32'(d_shift_q[rd_l]);
        default: begin
          if (rd_off >= CbBase && rd_off < CbEnd) begin
            reg_rdata_o = (32'(d_cb_q[rd_cb + 1]) << eie_reg_pkg::DescCodebookHiLsb) |
                          (32'(d_cb_q[rd_cb]) << eie_reg_pkg::DescCodebookLoLsb);
          end else begin
            reg_rd_err_o = 1'b1;
          end
        end
      endcase
    end else if (raddr >= eie_reg_pkg::RegLayerCycles && raddr < LcEnd) begin
      reg_rdata_o = layer_cycles_q[(raddr - eie_reg_pkg::RegLayerCycles) /
                                   eie_reg_pkg::RegLayerCyclesStride];
    end else begin
      case (raddr)
        eie_reg_pkg::RegId:         reg_rdata_o = eie_reg_pkg::IdValue;
        eie_reg_pkg::RegHwcfg:      reg_rdata_o = (32'(NUM_PE) << eie_reg_pkg::HwcfgNumPeLsb) |
                                                  (32'(FIFO_DEPTH) << eie_reg_pkg::HwcfgFifoDepthLsb) |
                                                  (32'(MAX_LAYERS) << eie_reg_pkg::HwcfgMaxLayersLsb);
        eie_reg_pkg::RegCtrl:       reg_rdata_o = '0;
        eie_reg_pkg::RegStatus:     reg_rdata_o = (32'(layer_q) << eie_reg_pkg::StatusLayerLsb) |
                                                  (32'(ld_ready_o) << eie_reg_pkg::StatusLdReadyLsb) |
                                                  (32'(error_o) << eie_reg_pkg::StatusErrorLsb) |
                                                  (32'(done_q) << eie_reg_pkg::StatusDoneLsb) |
                                                  (32'(busy) << eie_reg_pkg::StatusBusyLsb);
        eie_reg_pkg::RegNumLayers:  reg_rdata_o = 32'(num_layers_q);
        eie_reg_pkg::RegError:      reg_rdata_o = (32'(err_pe_q) << eie_reg_pkg::ErrorPeLsb) |
                                                  (32'(err_layer_q) << eie_reg_pkg::ErrorLayerLsb) |
                                                  (32'(err_code_q) << eie_reg_pkg::ErrorCodeLsb);
        eie_reg_pkg::RegPeErr:      reg_rdata_o = 32'(err_pe_code_q);
        eie_reg_pkg::RegPeSel:      reg_rdata_o = pe_sel_q;
        eie_reg_pkg::RegCycles:     reg_rdata_o = cycles_q;
        eie_reg_pkg::RegPeBusy:     reg_rdata_o = (pe_sel_q < NUM_PE) ? cnt_busy_i[sel_k*32 +: 32] : '0;
        eie_reg_pkg::RegPeStarved:  reg_rdata_o = (pe_sel_q < NUM_PE) ? cnt_starved_i[sel_k*32 +: 32] : '0;
        eie_reg_pkg::RegPeBlocked:  reg_rdata_o = (pe_sel_q < NUM_PE) ? cnt_blocked_i[sel_k*32 +: 32] : '0;
        eie_reg_pkg::RegBcastCount: reg_rdata_o = bcast_count_q;
        eie_reg_pkg::RegActDepth:   reg_rdata_o = 32'(ACT_DEPTH);
        eie_reg_pkg::RegSpmWords:   reg_rdata_o = 32'(SPM_WORDS);
        eie_reg_pkg::RegPtrDepth:   reg_rdata_o = 32'(PTR_DEPTH);
        default:                    reg_rd_err_o = 1'b1;
      endcase
    end
  end

  // ---------------------------------------------------------------- descriptor check
  // The current layer's fields as continuous assigns: Icarus 11 can loop forever in zero time on
  // always_comb blocks that index these arrays (seen with the sequencer), so the check is a chain
  // of assigns.
  logic [7:0]  check_err;
  logic [31:0] chk_in_len, chk_out_len, chk_prev_out_len, chk_ptr_base, chk_ptr_end, chk_shift;
  logic        chk_bias;
  assign chk_in_len       = 32'(d_in_len_q[layer_q]);
  assign chk_out_len      = 32'(d_out_len_q[layer_q]);
  assign chk_prev_out_len = (layer_q == '0) ? chk_in_len : 32'(d_out_len_q[layer_q - 1'b1]);
  assign chk_ptr_base     = 32'(d_ptr_base_q[layer_q]);
  assign chk_bias         = d_bias_q[layer_q];
  assign chk_shift        = 32'(d_shift_q[layer_q]);
  assign chk_ptr_end      = chk_ptr_base + chk_in_len + 32'(chk_bias) + 1;
  assign check_err =
      (chk_in_len == 0 || chk_out_len == 0)        ? eie_reg_pkg::ErrLenZero    :
      (chk_in_len > ACT_DEPTH * NUM_PE)            ? eie_reg_pkg::ErrInTooLong  :
      (chk_out_len > ACT_DEPTH * NUM_PE)           ? eie_reg_pkg::ErrOutTooLong :
      (chk_ptr_base % 2 != 0)                      ? eie_reg_pkg::ErrPtrAlign   :
      (chk_ptr_end > PTR_DEPTH)                    ? eie_reg_pkg::ErrPtrRange   :
      (chk_in_len != chk_prev_out_len)             ? eie_reg_pkg::ErrChain      :
      (chk_bias && chk_in_len == (1 << IDX_W) - 1) ? eie_reg_pkg::ErrBiasLen    :
      (chk_shift >= (1 << SHIFT_W))                ? eie_reg_pkg::ErrShift      : eie_reg_pkg::ErrNone;

  // ---------------------------------------------------------------- output streamer
  logic [K_W-1:0]   out_k_q;          // PE of the next read
  logic [IO_AW-1:0] out_r_q;          // its local row
  logic [IDX_W:0]   out_j_q;          // global index of the next read
  logic             rd_inflight_q;
  logic [IDX_W-1:0] rd_j_q;
  logic             issue_rd;
  logic             oq_push, oq_ready, oq_full, oq_empty;
  logic [$clog2(OUTQ_DEPTH + 1)-1:0] oq_level;
  logic [ACT_W-1:0] rd_data;
  logic [IDX_W-1:0] last_out_len;

  // explicit L_W-bit index: Icarus 11 evaluates `num_layers_q[L_W-1:0] - 1'b1` wider (no wrap)
  logic [L_W-1:0] last_layer;
  assign last_layer   = L_W'(32'(num_layers_q) - 1);
  assign last_out_len = d_out_len_q[last_layer];
  assign issue_rd = (state_q == StOutput) && (out_j_q < (IDX_W + 1)'(last_out_len)) &&
                    (32'(oq_level) + 32'(rd_inflight_q) < OUTQ_DEPTH);

  always_comb begin
    rd_data = '0;
    for (int k = 0; k < NUM_PE; k++) begin
      if (io_rvalid_i[k]) rd_data = rd_data | io_rdata_i[k*ACT_W +: ACT_W];
    end
  end
  assign oq_push = rd_inflight_q;     // the PE answers one cycle after the request

  eie_act_queue #(
    .DEPTH (OUTQ_DEPTH),
    .IDX_W (IDX_W),
    .ACT_W (ACT_W)
  ) u_outq (
    .clk_i,
    .rst_ni,
    .push_valid_i (oq_push),
    .push_ready_o (oq_ready),
    .push_idx_i   (rd_j_q),
    .push_act_i   (rd_data),
    .pop_valid_o  (out_valid_o),
    .pop_ready_i  (out_ready_i),
    .pop_idx_o    (out_idx_o),
    .pop_act_o    (out_data_o),
    .full_o       (oq_full),
    .empty_o      (oq_empty),
    .level_o      (oq_level)
  );
  assign out_last_o = out_valid_o && (32'(out_idx_o) + 1 == 32'(last_out_len));

  // ---------------------------------------------------------------- load path and PE I/O mux
  logic ld_fire, ld_bad_pe;
  assign ld_ready_o = (state_q == StIdle) && all_pe_ready;
  assign ld_fire    = ld_valid_i && ld_ready_o;
  assign ld_bad_pe  = 32'(ld_pe_i) >= NUM_PE;

  always_comb begin
    io_en_o    = '0;
    io_we_o    = 1'b0;
    io_mem_o   = ld_mem_i;
    io_addr_o  = ld_addr_i;
    io_wdata_o = ld_data_i;
    if (state_q == StOutput) begin
      io_mem_o  = eie_reg_pkg::MemActSrc;  // the source buffer: after the last swap, the outputs
      io_addr_o = out_r_q;
      if (issue_rd) io_en_o[out_k_q] = 1'b1;
    end else if (ld_fire && !ld_bad_pe) begin
      io_en_o[ld_pe_k] = 1'b1;
      io_we_o = 1'b1;
    end
  end

  // ---------------------------------------------------------------- sequencer
  always_comb begin
    state_d       = state_q;
    layer_d       = layer_q;
    done_d        = done_q;
    err_code_d    = err_code_q;
    err_layer_d   = err_layer_q;
    err_pe_d      = err_pe_q;
    err_pe_code_d = err_pe_code_q;
    layer_start_o = 1'b0;
    tree_start_o  = 1'b0;
    bcast_end_o   = 1'b0;
    root_ready_o  = 1'b0;
    if (clear_cmd) begin
      done_d     = 1'b0;
      err_code_d = eie_reg_pkg::ErrNone;
    end
    if (ld_fire && ld_bad_pe) begin
      err_code_d = eie_reg_pkg::ErrLoadPe;
      err_pe_d   = 16'(ld_pe_i);
    end
    case (state_q)
      StIdle: begin
        if (start_cmd) begin
          done_d     = 1'b0;
          err_code_d = eie_reg_pkg::ErrNone;
          layer_d    = '0;
          if (num_layers_q == 0 || 32'(num_layers_q) > MAX_LAYERS) begin
            err_code_d  = eie_reg_pkg::ErrNumLayers;
            err_layer_d = '0;
            state_d     = StDone;
          end else if (any_pe_err) begin
            err_code_d    = eie_reg_pkg::ErrPe;
            err_layer_d   = '0;
            err_pe_d      = first_err_pe;
            err_pe_code_d = first_err_code;
            state_d       = StDone;
          end else begin
            state_d = StCheck;
          end
        end
      end
      StCheck: begin
        if (check_err != eie_reg_pkg::ErrNone) begin
          err_code_d  = check_err;
          err_layer_d = 8'(layer_q);
          state_d     = StDone;
        end else if (32'(layer_q) + 1 == 32'(num_layers_q)) begin
          layer_d = '0;
          state_d = StCfg;
        end else begin
          layer_d = layer_q + 1'b1;
        end
      end
      StCfg: state_d = StStart;
      StStart: begin
        if (all_pe_ready) begin
          layer_start_o = 1'b1;
          tree_start_o  = 1'b1;
          state_d       = StBcast;
        end
      end
      StBcast: begin
        root_ready_o = bc_free;
        if (root_over) begin
          // the bias pair takes the register as soon as it is free (here or in StBias); without
          // a bias, bcast_end goes out with the last pair's broadcast
          if (d_bias_q[layer_q]) begin
            if (bc_free) state_d = StEnd;
            else state_d = StBias;
          end else if (bc_free) begin
            bcast_end_o = 1'b1;
            state_d     = StWait;
          end else begin
            state_d = StEnd;
          end
        end
      end
      StBias: if (bc_free) state_d = StEnd;
      StEnd: begin
        if (bc_free) begin      // the register is empty or broadcasts its last pair now
          bcast_end_o = 1'b1;
          state_d     = StWait;
        end
      end
      StWait: if (all_layer_done) state_d = StLayerEnd;
      StLayerEnd: begin
        // one cycle after every PE is done, so the registered error flags include the layer's end
        begin
          if (any_pe_err) begin
            err_code_d    = eie_reg_pkg::ErrPe;
            err_layer_d   = 8'(layer_q);
            err_pe_d      = first_err_pe;
            err_pe_code_d = first_err_code;
            state_d       = StDone;
          end else if (32'(layer_q) + 1 == 32'(num_layers_q)) begin
            state_d = StOutput;
          end else begin
            layer_d = layer_q + 1'b1;
            state_d = StCfg;
          end
        end
      end
      StOutput: begin
        if (out_j_q == (IDX_W + 1)'(last_out_len) && !rd_inflight_q && oq_empty && !out_pending_i)
          state_d = StDone;
      end
      StDone: begin
        done_d  = 1'b1;
        state_d = StIdle;
      end
      default: state_d = StIdle;
    endcase
  end

  assign busy_o      = busy;
  assign done_o      = done_q;
  assign error_o     = (err_code_q != eie_reg_pkg::ErrNone);
  assign err_clear_o = start_cmd || clear_cmd;
  assign cnt_clear_o = start_cmd;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q       <= StIdle;
      layer_q       <= '0;
      done_q        <= 1'b0;
      err_code_q    <= eie_reg_pkg::ErrNone;
      err_layer_q   <= '0;
      err_pe_q      <= '0;
      err_pe_code_q <= '0;
    end else begin
      state_q       <= state_d;
      layer_q       <= layer_d;
      done_q        <= done_d;
      err_code_q    <= err_code_d;
      err_layer_q   <= err_layer_d;
      err_pe_q      <= err_pe_d;
      err_pe_code_q <= err_pe_code_d;
    end
  end

  // PE configuration registers: stable from layer_start to layer_done
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cfg_ptr_base_o <= '0;
      cfg_codebook_o <= '0;
      cfg_shift_o    <= '0;
      cfg_relu_o     <= 1'b0;
      cfg_pad_skip_o <= 1'b0;
      cfg_dual_o     <= 1'b0;
      cfg_in_len_o   <= '0;
      cfg_out_len_o  <= '0;
    end else if (state_q == StCfg) begin
      cfg_ptr_base_o <= d_ptr_base_q[layer_q];
      for (int e = 0; e < 16; e++) cfg_codebook_o[e*W_W +: W_W] <= d_cb_q[16 * 32'(layer_q) + e];
      cfg_shift_o    <= d_shift_q[layer_q][SHIFT_W-1:0];
      cfg_relu_o     <= d_relu_q[layer_q];
      cfg_pad_skip_o <= d_skip_q[layer_q];
      cfg_dual_o     <= d_dual_q[layer_q];
      cfg_in_len_o   <= d_in_len_q[layer_q];
      cfg_out_len_o  <= d_out_len_q[layer_q];
    end
  end

  // broadcast register
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bc_pending_q <= 1'b0;
      bc_idx_q     <= '0;
      bc_act_q     <= '0;
    end else begin
      if (bc_fire) bc_pending_q <= 1'b0;
      if (state_q == StBcast && root_valid_i && root_ready_o) begin
        bc_pending_q <= 1'b1;
        bc_idx_q     <= root_idx_i;
        bc_act_q     <= root_act_i;
      end else if ((state_q == StBias || (state_q == StBcast && root_over && d_bias_q[layer_q])) &&
                   bc_free) begin
        bc_pending_q <= 1'b1;
        bc_idx_q     <= d_in_len_q[layer_q];
        bc_act_q     <= d_bias_act_q[layer_q];
      end
    end
  end

  // counters
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cycles_q      <= '0;
      bcast_count_q <= '0;
      arm_q         <= '0;
      for (int l = 0; l < MAX_LAYERS; l++) layer_cycles_q[l] <= '0;
    end else begin
      if (start_cmd) begin
        cycles_q      <= '0;
        bcast_count_q <= '0;
        for (int l = 0; l < MAX_LAYERS; l++) layer_cycles_q[l] <= '0;
      end else if (busy) begin
        cycles_q <= cycles_q + 1;
        if ((state_q == StStart && all_pe_ready) || state_q == StBcast || state_q == StBias ||
            state_q == StEnd || state_q == StWait) begin
          layer_cycles_q[layer_q] <= layer_cycles_q[layer_q] + 1;
        end
      end
      if (bc_fire) bcast_count_q <= bcast_count_q + 1;
      if (tree_start_o) arm_q <= '0;
      else if (arm_q != '1) arm_q <= arm_q + 1'b1;
    end
  end

  // output streamer counters
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_k_q       <= '0;
      out_r_q       <= '0;
      out_j_q       <= '0;
      rd_inflight_q <= 1'b0;
      rd_j_q        <= '0;
    end else begin
      rd_inflight_q <= issue_rd;
      if (state_q != StOutput) begin
        out_k_q <= '0;
        out_r_q <= '0;
        out_j_q <= '0;
      end else if (issue_rd) begin
        rd_j_q  <= out_j_q[IDX_W-1:0];
        out_j_q <= out_j_q + 1'b1;
        if (32'(out_k_q) == NUM_PE - 1) begin
          out_k_q <= '0;
          out_r_q <= out_r_q + 1'b1;
        end else begin
          out_k_q <= out_k_q + 1'b1;
        end
      end
    end
  end

  logic unused;
  assign unused = ^{reg_wstrb_i, oq_full, oq_ready, reg_rd_i, wr_l, rd_l};

endmodule

`resetall
`default_nettype wire
