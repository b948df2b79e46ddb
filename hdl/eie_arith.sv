// EIE arithmetic unit: codebook decode, row-address accumulation, multiply, round-shift,
// saturating accumulate into the PE's ACT_DEPTH accumulators, and the per-layer write-back pass.
//
// Numerics (docs/design-contract.md):
//   w   = codebook[v]                                   (W_W-bit signed; entry 0 read like any other)
//   p   = w * a                                         exact, W_W + ACT_W bits
//   q   = (p + 2^(s-1)) >>> s    (q = p when s = 0)     computed wide enough never to overflow
//   acc = sat_ACC_W(acc + q)
//   b   = sat_ACT_W((acc + 2^(G-1)) >>> G)  (acc when G = 0), on ACC_W + 1 bits; b = max(b, 0) if relu_i
//
// Pipeline (one entry per cycle; nothing behind stage 1 ever stalls, so stage distances are fixed):
//   S1  the cycle an entry is accepted (ent_valid_i & ent_ready_o): codebook lookup, row address
//       x = first ? z : x + z + 1 (x_q holds the running address), accumulator read address
//       presented to the SRAM, so the data arrives in S2.
//   S2  accumulator data out of the SRAM; product w * a; forwarding of newer in-flight values.
//   S3  round-half-up shift by s, forwarding from S4, saturating add at ACC_W.
//   S4  accumulator write.
//   An entry accepted at edge t (end of its S1) is read at edge t and written at edge t + 3.
//
// Read-modify-write through the SRAM: S2 reads and S4 writes in the same cycle, two accesses per
// cycle, which a single-port macro cannot do, and splitting the accumulators into even/odd banks
// does not help (the read and the write rows are independent, both may fall in one bank). The
// accumulators are therefore one simple dual-port SRAM, eie_sram_dp (one write port + one read
// port, registered read), a standard 1R1W macro. All other memories of the PE stay single-port.
//
// Bypass (read-after-write hazards at every distance). Entry k is read at edge t; older writes of
// the same row land at edges t - 1 or earlier (already in the read data), or at edges t, t+1, t+2
// (entries 3, 2, 1 cycles ahead) which the read data cannot contain:
//   edge t    : the write that happened at the read edge itself (a same-address read/write
//               collision). wr_*_q records the write port of the previous edge, and S2 takes it
//               instead of the read data, so the result does not depend on whether the macro is
//               read-first (this model), write-first or undefined on a collision.
//   edge t+1  : the entry in S4 while k is in S2 -> S2 takes s4_sum_q (priority over wr_*_q).
//   edge t+2  : the entry in S4 while k is in S3 -> S3 takes s4_sum_q over the operand from S2.
// Distances count cycles, not entries: bubbles (ent_valid_i low) just shift which case applies.
//
// Write-back pass (wb_start_i, wb_rows_i = R), fused with the bias column: the pass walks rows
// 0..R-1, one per cycle, through the same four stages as an entry: S1 issues row r (weight 0, or the
// weight and activation of the entry on the input when that entry is for row r, which it then takes),
// S2 reads the row and multiplies, S3 adds (saturating), and S4 writes the row back to 0 while its
// final value is converted to the output format, b = ReLU?(sat_ACT_W((acc + 2^(G-1)) >>> G)), and
// leaves on wbo_* (straight from S4 when the output queue is empty, else through the 4-entry queue).
// So the layer's last column (the bias, which the PE marks with ent_bias_i: it is not taken as a
// normal entry but held for the pass) costs no cycle of its own: each bias entry is added in the row
// cycle of the pass, and the paper's separate pass over the accumulators after the last column is
// gone (the paper's accumulators are the destination registers; ours are an SRAM, so rows still
// leave one per cycle). wb_start_i comes when the bias column's first entry is on the input, or when
// no entry will come (then the pass adds nothing). A row waits only when no entry is on the input
// while more may come (until the column's last entry, ent_last_i, is taken). Entries for rows >= R
// (impossible in an encoded layer) are taken and dropped after the last row, with err_row_o. A row
// is issued only when the output queue is sure to have room for it (queue level + rows in S2..S4
// <= 3), so back-pressure on wbo_ready_i never loses or repeats a row; there is no path from
// wbo_ready_i to the SRAM. The pass may start while entries are still in S2..S4: the bypass below
// covers the rows it reads. Timing, no back-pressure: row r in S1 in cycle c0 + r (c0: the
// wb_start_i cycle), on wbo_* in c0 + r + 3; wb_done_o in the cycle the last row leaves (c0 + R + 2;
// c0 + 1 for R = 0), ready_o high again the cycle after. R > ACT_DEPTH is clamped to ACT_DEPTH and
// sets err_row_o.
//
// Init pass: after reset every accumulator is written to 0, one per cycle (ACT_DEPTH cycles,
// ready_o low). wb_start_i is ignored unless ready_o is high.
//
// Errors: err_row_o is set (sticky until reset or clear_i) when an entry's row address x reaches
// ACT_DEPTH; such entries are dropped (no read, no write), and x stays out of range until the
// next first entry. Per-layer inputs (codebook_i, shift_i, relu_i) must be stable while busy_o or
// a write-back pass is running. ent_ready_o is low for an entry with ent_bias_i outside the pass.
`default_nettype none

module eie_arith #(
    parameter int W_W       = 16,    // decoded weight bits (signed), 2..32
    parameter int ACT_W     = 16,    // activation bits (signed), 2..32
    parameter int ACC_W     = 32,    // accumulator bits (signed, saturating), ACT_W + GUARD .. 62
    parameter int GUARD     = 8,     // accumulator fraction bits below the output LSB, >= 0
    parameter int SHIFT_W   = 5,     // bits of the per-layer product shift s, 1..6
    parameter int ACT_DEPTH = 1024,  // accumulators (local output rows), >= 2
    parameter int LANES     = 1,     // multiply-accumulate lanes: 1 (the paper's PE) or 2 (dual issue,
                                     //   rows split by parity over two accumulator SRAMs)
    // derived, do not override
    parameter int ROW_W     = $clog2(ACT_DEPTH),      // local row address bits
    parameter int ROWS_W    = $clog2(ACT_DEPTH + 1)   // row count bits (0..ACT_DEPTH)
) (
    input  wire logic                  clk_i,
    input  wire logic                  rst_ni,
    // entry stream (from eie_spm_read)
    input  wire logic                  ent_valid_i,
    output logic                       ent_ready_o,
    input  wire logic [3:0]            ent_v_i,       // codebook index
    input  wire logic [4:0]            ent_z_i,       // zeros before this entry (relative row; <= 31:
                                                      //   a padding entry merged with the next, eie_spm_read)
    input  wire logic                  ent_first_i,   // first entry of its column
    input  wire logic                  ent_last_i,    // last entry of its column
    input  wire logic                  ent_bias_i,    // the entry is the bias column's: held for the pass
    input  wire logic [ACT_W-1:0]      ent_act_i,     // the column's activation a_j
    input  wire logic                  ent_dual_i,    // a second entry of the same column rides this beat
    input  wire logic [3:0]            ent_v2_i,      // its codebook index
    input  wire logic [5:0]            ent_dz_i,      // its row offset: z + z2 + 1 (rows differ in parity)
    output logic [ROW_W-1:0]           ent_row_o,     // local row of the entry at the input
                                                      // (observation only: eie_pe's hz_row_o)
    // per-layer configuration
    input  wire logic [16*W_W-1:0]     codebook_i,    // entry k in bits [k*W_W +: W_W]
    input  wire logic [SHIFT_W-1:0]    shift_i,       // s
    input  wire logic                  relu_i,        // ReLU on the write-back
    // write-back pass
    input  wire logic                  wb_start_i,    // pulse, taken while ready_o
    input  wire logic [ROWS_W-1:0]     wb_rows_i,     // local rows to write back (0..ACT_DEPTH)
    output logic                       wbo_valid_o,
    input  wire logic                  wbo_ready_i,
    output logic [ROW_W-1:0]           wbo_row_o,
    output logic [ACT_W-1:0]           wbo_data_o,
    output logic                       wb_done_o,     // pulse: the pass ends at this edge
    // status
    output logic                       ready_o,       // init done and no write-back running
    output logic                       busy_o,        // an entry is in S2..S4 (pass rows not counted)
    output logic                       err_row_o,     // sticky: row address reached ACT_DEPTH (or a
                                                      //   pass entry's row >= wb_rows_i)
    input  wire logic                  clear_i        // clears err_row_o
);

  // ------------------------------------------------------------------------------ parameters
  localparam int P_W   = W_W + ACT_W;                       // exact product
  localparam int MAX_S = (1 << SHIFT_W) - 1;                // largest shift
  localparam int R_W   = (P_W + 1 > MAX_S + 1) ? P_W + 1 : MAX_S + 1;  // p + 2^(s-1), no overflow
  localparam int S_W   = ((ACC_W > R_W) ? ACC_W : R_W) + 1; // acc + q, no overflow
  localparam int X_W   = $clog2(ACT_DEPTH + 33);            // running row address, up to DEPTH+32
  localparam int B_W   = ACC_W + 1;                         // acc + 2^(G-1), no overflow

  initial begin
    if (W_W < 2 || W_W > 32 || ACT_W < 2 || ACT_W > 32) begin
      $display("%m: W_W = %0d and ACT_W = %0d must be in 2..32", W_W, ACT_W);
      $fatal(1);
    end
    if (GUARD < 0 || ACC_W < ACT_W + GUARD || ACC_W > 62) begin
      $display("%m: need GUARD >= 0 and ACT_W + GUARD <= ACC_W <= 62 (ACT_W %0d GUARD %0d ACC_W %0d)",
               ACT_W, GUARD, ACC_W);
      $fatal(1);
    end
    if (SHIFT_W < 1 || SHIFT_W > 6) begin
      $display("%m: SHIFT_W = %0d must be in 1..6", SHIFT_W);
      $fatal(1);
    end
    if (LANES != 1 && LANES != 2) begin
      $display("%m: LANES = %0d must be 1 or 2", LANES);
      $fatal(1);
    end
    if (ACT_DEPTH < 2) begin
      $display("%m: ACT_DEPTH = %0d must be >= 2", ACT_DEPTH);
      $fatal(1);
    end
    if (ROW_W != $clog2(ACT_DEPTH) || ROWS_W != $clog2(ACT_DEPTH + 1)) begin
      $display("%m: ROW_W and ROWS_W are derived from ACT_DEPTH, do not override them");
      $fatal(1);
    end
  end

  // ------------------------------------------------------------------------------ control state
  typedef enum logic [1:0] {
    ST_INIT = 2'd0,  // clearing every accumulator after reset
    ST_IDLE = 2'd1,  // accepting entries
    ST_WB   = 2'd2   // write-back pass (with the bias column)
  } state_e;

  localparam int OQ_DEPTH = 4;  // output queue: 3 rows in S2..S4 + 1, one row per cycle sustained
  localparam int LSH      = LANES - 1;                             // lane address = row >> LSH
  localparam int L_DEPTH  = (ACT_DEPTH + LANES - 1) / LANES;       // accumulators per lane
  localparam int L_AW     = (L_DEPTH < 2) ? 1 : $clog2(L_DEPTH);   // lane address bits

  state_e state_q, state_d;

  // ------------------------------------------------------------------------------ S1
  logic [W_W-1:0] cb [16];
  for (genvar k = 0; k < 16; k++) begin : g_cb
    assign cb[k] = codebook_i[k*W_W +: W_W];
  end

  logic             ent_take;      // a normal beat is accepted (ST_IDLE)
  logic             ent_fire;      // the beat on the input is taken (normal, or by the pass)
  logic [X_W-1:0]   x_q, x_d, x_next, x_next2;
  logic             x_in_range, x2_in_range, x2_ok;
  logic [ROW_W-1:0] x_row, x_row2;

  // write-back pass
  logic [ROWS_W-1:0] wb_rows_q, wb_rows_d;     // rows of this pass
  logic [ROWS_W-1:0] wb_next_q, wb_next_d;     // next row to issue
  logic              ps_last_q, ps_last_d;     // no entry will come for the pass any more
  logic              pass_go;                  // the pass runs this cycle
  logic [ROWS_W-1:0] wb_rows_cur, wb_next_cur, wb_rows_clamped;
  logic              ps_last_cur, ps_all, ps_credit, ps_issue, ps_match, ps_take, ps_drop;
  logic [ROW_W-1:0]  ps_row;

  assign wb_rows_clamped = (wb_rows_i > ROWS_W'(ACT_DEPTH)) ? ROWS_W'(ACT_DEPTH) : wb_rows_i;
  assign pass_go     = (state_q == ST_WB) || (state_q == ST_IDLE && wb_start_i);
  assign wb_rows_cur = (state_q == ST_WB) ? wb_rows_q : wb_rows_clamped;
  assign wb_next_cur = (state_q == ST_WB) ? wb_next_q : '0;
  // at the start: entries follow only when one is on the input (eie_pe starts the pass on the
  // bias column's first entry, or with nothing left in the front end)
  assign ps_last_cur = (state_q == ST_WB) ? ps_last_q : !ent_valid_i;
  assign ps_all      = (wb_next_cur == wb_rows_cur);
  assign ps_row      = wb_next_cur[ROW_W-1:0];

  // Row addresses: base = first ? 0 : x + 1; the entry's row base + z, the second entry's base + dz.
  // Two adders side by side (dz comes precomputed), so a dual beat is no deeper than a single one.
  assign x_next      = ent_first_i ? X_W'(ent_z_i) : x_q + X_W'(ent_z_i) + X_W'(1);
  assign x_next2     = ent_first_i ? X_W'(ent_dz_i) : x_q + X_W'(ent_dz_i) + X_W'(1);
  assign x_in_range  = (x_next < X_W'(ACT_DEPTH));
  assign x2_in_range = (x_next2 < X_W'(ACT_DEPTH));
  assign x_row       = x_next[ROW_W-1:0];
  assign x_row2      = x_next2[ROW_W-1:0];
  assign ent_row_o   = x_row;
  // the second entry is accumulated when it is in range and, with two lanes, in the other lane
  // (its rows differ in parity: the sparse-matrix reader pairs only then); else it is an error
  assign x2_ok       = ent_dual_i && x_in_range && x2_in_range && (LANES == 2) && (x_next2[0] != x_next[0]);

  // Row r is issued once the output has room for it and it is known whether the entry for row r is
  // on the input: an entry is there (for row r: taken with it; for a later row: row r alone), or
  // none will come. Entries left after the last row are taken and dropped (error). A dual beat in
  // the pass (the bias column is never paired) is dropped with the error.
  assign ps_match    = ent_valid_i && x_in_range && (x_next == X_W'(wb_next_cur)) && !ent_dual_i;
  assign ps_issue    = pass_go && !ps_all && ps_credit && (ent_valid_i || ps_last_cur);
  assign ps_take     = ps_issue && ps_match;
  assign ps_drop     = (pass_go && ps_all && ent_valid_i) || (ps_issue && ent_valid_i && ent_dual_i);
  assign ent_take    = (state_q == ST_IDLE) && !wb_start_i && ent_valid_i && !ent_bias_i;
  assign ent_ready_o = ((state_q == ST_IDLE) && !wb_start_i && !ent_bias_i) || ps_take || ps_drop;
  assign ent_fire    = ent_take || ps_take || ps_drop;
  assign ready_o     = (state_q == ST_IDLE);

  always_comb begin
    x_d = x_q;
    if (ent_fire) begin
      if (!x_in_range) x_d = X_W'(ACT_DEPTH);                               // stays out of range
      else if (ent_dual_i) x_d = x2_in_range ? x_next2 : X_W'(ACT_DEPTH);
      else x_d = x_next;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) x_q <= '0;
    else x_q <= x_d;
  end

  // ------------------------------------------------------------------------------ lanes
  // Lane l holds the rows r with r mod LANES = l (one lane: every row), at address r >> LSH of its
  // own accumulator SRAM, with its own S2..S4 and bypass (rows of different lanes never collide).
  // What each lane takes in S1: the pass row, the beat's entry or its second entry.
  logic [LANES-1:0] l_go, l_fin;
  logic [ROW_W-1:0] l_row [LANES];
  logic [W_W-1:0]   l_w   [LANES];
  logic [ACT_W-1:0] l_a   [LANES];

  for (genvar l = 0; l < LANES; l++) begin : g_sel
    logic             mine1, mine2, pmine, go, fin;
    logic [ROW_W-1:0] row;
    logic [W_W-1:0]   w;
    logic [ACT_W-1:0] a;
    assign mine1 = (LANES == 1) || (x_row[0] == 1'(l));
    assign mine2 = (LANES == 2) && (x_row2[0] == 1'(l));
    assign pmine = (LANES == 1) || (ps_row[0] == 1'(l));
    always_comb begin
      go  = 1'b0;
      fin = 1'b0;
      row = x_row;
      w   = cb[ent_v_i];
      a   = ent_act_i;
      if (ps_issue) begin
        if (pmine) begin
          go  = 1'b1;
          fin = 1'b1;
          row = ps_row;
          w   = ps_take ? cb[ent_v_i] : '0;
          a   = ps_take ? ent_act_i : '0;
        end
      end else if (ent_take && x_in_range && mine1) begin
        go = 1'b1;
      end else if (ent_take && x2_ok && mine2) begin
        go  = 1'b1;
        row = x_row2;
        w   = cb[ent_v2_i];
      end
    end
    assign l_go[l]  = go;
    assign l_fin[l] = fin;
    assign l_row[l] = row;
    assign l_w[l]   = w;
    assign l_a[l]   = a;
  end

  logic [LANES-1:0]  l_s2_busy, l_s3_fin, l_s2_fin, l_s4_row, l_busy;
  logic [ROW_W-1:0]  l_s4_x   [LANES];
  logic [ACC_W-1:0]  l_s4_sum [LANES];
  logic [ROW_W-1:0]  init_row_q, init_row_d;

  for (genvar l = 0; l < LANES; l++) begin : g_lane
    // this lane's S1 inputs (local names: Icarus takes no constant selects inside always_* blocks)
    logic             go, fin, init_mine;
    logic [ROW_W-1:0] row;
    logic [W_W-1:0]   w;
    logic [ACT_W-1:0] a;
    assign go        = l_go[l];
    assign fin       = l_fin[l];
    assign row       = l_row[l];
    assign w         = l_w[l];
    assign a         = l_a[l];
    assign init_mine = (LANES == 1) || (init_row_q[0] == 1'(l));
    // accumulator SRAM ports
    logic             acc_we, acc_re;
    logic [L_AW-1:0]  acc_waddr, acc_raddr;
    logic [ACC_W-1:0] acc_wdata, acc_rdata;
    // S2 registers
    logic                   s2_valid_q, s2_fin_q;
    logic [ROW_W-1:0]       s2_x_q;
    logic [W_W-1:0]         s2_w_q;
    logic [ACT_W-1:0]       s2_a_q;
    // S3 registers
    logic                   s3_valid_q, s3_fin_q;
    logic [ROW_W-1:0]       s3_x_q;
    logic signed [P_W-1:0]  s3_p_q;
    logic [ACC_W-1:0]       s3_op_q;
    // S4 registers
    logic                   s4_valid_q, s4_fin_q;
    logic [ROW_W-1:0]       s4_x_q;
    logic [ACC_W-1:0]       s4_sum_q;
    logic [ACC_W-1:0]       s4_wval;       // what S4 writes: the sum, or 0 for a pass row
    // last write (of the previous edge), for the same-edge collision case
    logic                   wr_v_q;
    logic [L_AW-1:0]        wr_addr_q;
    logic [ACC_W-1:0]       wr_data_q;

    assign s4_wval = s4_fin_q ? '0 : s4_sum_q;

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        s2_valid_q <= 1'b0;
        s2_fin_q   <= 1'b0;
        s2_x_q     <= '0;
        s2_w_q     <= '0;
        s2_a_q     <= '0;
      end else begin
        s2_valid_q <= go;
        s2_fin_q   <= fin;
        if (go) begin
          s2_x_q <= row;
          s2_w_q <= w;
          s2_a_q <= a;
        end
      end
    end

    // ---------------------------------------------------------------------------- S2
    logic signed [P_W-1:0] s2_p;
    logic [ACC_W-1:0]      s2_op;

    assign s2_p = $signed(s2_w_q) * $signed(s2_a_q);

    always_comb begin
      s2_op = acc_rdata;                                                   // written at edge <= t-1
      if (wr_v_q && wr_addr_q == L_AW'(s2_x_q >> LSH)) s2_op = wr_data_q;  // written at edge t
      if (s4_valid_q && s4_x_q == s2_x_q) s2_op = s4_wval;                 // written at edge t+1
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        s3_valid_q <= 1'b0;
        s3_fin_q   <= 1'b0;
        s3_x_q     <= '0;
        s3_p_q     <= '0;
        s3_op_q    <= '0;
      end else begin
        s3_valid_q <= s2_valid_q;
        s3_fin_q   <= s2_fin_q;
        if (s2_valid_q) begin
          s3_x_q  <= s2_x_q;
          s3_p_q  <= s2_p;
          s3_op_q <= s2_op;
        end
      end
    end

    // ---------------------------------------------------------------------------- S3
    logic [ACC_W-1:0]       s3_op;
    logic signed [R_W-1:0]  s3_rnd, s3_pr, s3_q;
    logic signed [S_W-1:0]  s3_sum;
    logic [ACC_W-1:0]       s3_sat;

    always_comb begin
      s3_op = s3_op_q;
      if (s4_valid_q && s4_x_q == s3_x_q) s3_op = s4_wval;                 // written at edge t+2
    end

    assign s3_rnd = $signed((R_W'(1) << shift_i) >> 1);                   // 2^(s-1), 0 when s = 0
    assign s3_pr  = $signed({{(R_W - P_W){s3_p_q[P_W-1]}}, s3_p_q}) + s3_rnd;
    assign s3_q   = s3_pr >>> shift_i;
    assign s3_sum = $signed({{(S_W - ACC_W){s3_op[ACC_W-1]}}, s3_op})
                  + $signed({{(S_W - R_W){s3_q[R_W-1]}}, s3_q});

    // saturate S_W -> ACC_W: overflow when the bits above the ACC_W-bit sign are not all copies of it
    logic s3_ovf;
    assign s3_ovf = (s3_sum[S_W-1:ACC_W-1] != {(S_W - ACC_W + 1){s3_sum[S_W-1]}});
    assign s3_sat = !s3_ovf ? s3_sum[ACC_W-1:0]
                  : s3_sum[S_W-1] ? {1'b1, {(ACC_W - 1){1'b0}}} : {1'b0, {(ACC_W - 1){1'b1}}};

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        s4_valid_q <= 1'b0;
        s4_fin_q   <= 1'b0;
        s4_x_q     <= '0;
        s4_sum_q   <= '0;
      end else begin
        s4_valid_q <= s3_valid_q;
        s4_fin_q   <= s3_fin_q;
        if (s3_valid_q) begin
          s4_x_q   <= s3_x_q;
          s4_sum_q <= s3_sat;
        end
      end
    end

    // entries only: the write-back pass's rows are not entry work (eie_pe's busy counter)
    assign l_busy[l]   = (s2_valid_q && !s2_fin_q) || (s3_valid_q && !s3_fin_q) || (s4_valid_q && !s4_fin_q);
    assign l_s2_fin[l] = s2_fin_q;
    assign l_s3_fin[l] = s3_fin_q;
    assign l_s2_busy[l] = s2_valid_q;
    assign l_s4_row[l] = s4_valid_q && s4_fin_q;
    assign l_s4_x[l]   = s4_x_q;
    assign l_s4_sum[l] = s4_sum_q;

    // -------------------------------------------------------------------------- accumulators
    always_comb begin
      acc_re    = go;
      acc_raddr = L_AW'(row >> LSH);
      acc_we    = s4_valid_q;
      acc_waddr = L_AW'(s4_x_q >> LSH);
      acc_wdata = s4_wval;
      if (state_q == ST_INIT) begin
        acc_we    = init_mine;
        acc_waddr = L_AW'(init_row_q >> LSH);
        acc_wdata = '0;
      end
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        wr_v_q    <= 1'b0;
        wr_addr_q <= '0;
        wr_data_q <= '0;
      end else begin
        wr_v_q    <= acc_we;
        wr_addr_q <= acc_waddr;
        wr_data_q <= acc_wdata;
      end
    end

    eie_sram_dp #(
        .DEPTH(L_DEPTH < 2 ? 2 : L_DEPTH),
        .WIDTH(ACC_W)
    ) u_acc (
        .clk_i  (clk_i),
        .rst_ni (rst_ni),
        .we_i   (acc_we),
        .waddr_i(acc_waddr),
        .wdata_i(acc_wdata),
        .re_i   (acc_re),
        .raddr_i(acc_raddr),
        .rdata_o(acc_rdata)
    );
  end

  assign busy_o = |l_busy;

  // ------------------------------------------------------------------------------ S4: write-back out
  // The pass issues one row per cycle, so at most one lane has a pass row in S4.
  logic              s4_row, s4_hi;
  logic [ROW_W-1:0]  s4_x;
  logic [ACC_W-1:0]  s4_sum;
  assign s4_row = |l_s4_row;
  assign s4_hi  = (LANES == 2) && l_s4_row[LANES-1];
  assign s4_x   = s4_hi ? l_s4_x[LANES-1] : l_s4_x[0];
  assign s4_sum = s4_hi ? l_s4_sum[LANES-1] : l_s4_sum[0];

  // b = sat_ACT_W((acc + 2^(G-1)) >>> G), then ReLU, of a pass row's final value
  logic signed [B_W-1:0]  wb_t;
  logic [ACT_W-1:0]       wb_b;
  logic                   wb_ovf;
  logic [ACT_W-1:0]       wb_sat;
  assign wb_t   = ($signed({s4_sum[ACC_W-1], s4_sum}) + $signed((B_W'(1) << GUARD) >> 1))
                  >>> GUARD;
  assign wb_ovf = (wb_t[B_W-1:ACT_W-1] != {(B_W - ACT_W + 1){wb_t[B_W-1]}});
  assign wb_sat = !wb_ovf ? wb_t[ACT_W-1:0]
                : wb_t[B_W-1] ? {1'b1, {(ACT_W - 1){1'b0}}} : {1'b0, {(ACT_W - 1){1'b1}}};
  assign wb_b   = (relu_i && wb_sat[ACT_W-1]) ? '0 : wb_sat;

  // output queue: S4's row leaves directly when the queue is empty, else it queues behind
  logic              oq_push, oq_pop_valid, oq_empty, s4_direct;
  logic [ROW_W-1:0]  oq_row;
  logic [ACT_W-1:0]  oq_data;
  logic [$clog2(OQ_DEPTH + 1)-1:0] oq_level;
  logic [2:0]        ps_infl;                  // pass rows in S2..S4
  logic              unused_oq_ready, unused_oq_full;

  assign s4_direct   = s4_row && oq_empty;
  assign oq_push     = s4_row && !(s4_direct && wbo_ready_i);
  assign wbo_valid_o = oq_pop_valid || s4_direct;
  assign wbo_row_o   = oq_pop_valid ? oq_row : s4_x;
  assign wbo_data_o  = oq_pop_valid ? oq_data : wb_b;
  assign ps_infl     = 3'(s4_row) + 3'(l_s2_fin[0]) + 3'(l_s3_fin[0])
                     + ((LANES == 2) ? 3'(l_s2_fin[LANES-1]) + 3'(l_s3_fin[LANES-1]) : 3'd0);
  assign ps_credit   = (32'(oq_level) + 32'(ps_infl) <= OQ_DEPTH - 1);

  eie_act_queue #(
      .DEPTH(OQ_DEPTH),
      .IDX_W(ROW_W),
      .ACT_W(ACT_W)
  ) u_out_queue (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .push_valid_i(oq_push),
      .push_ready_o(unused_oq_ready),  // always 1 when pushed (credit count)
      .push_idx_i  (s4_x),
      .push_act_i  (wb_b),
      .pop_valid_o (oq_pop_valid),
      .pop_ready_i (wbo_ready_i),
      .pop_idx_o   (oq_row),
      .pop_act_o   (oq_data),
      .full_o      (unused_oq_full),
      .empty_o     (oq_empty),
      .level_o     (oq_level)
  );

  // The pass ends at the edge where its last row leaves (rows not out: the queue's and S4's).
  logic [3:0] ps_rem;
  assign ps_rem    = 4'(oq_level) + 4'(s4_row);
  assign wb_done_o = (state_q == ST_WB) && ps_all && ps_last_q && !ent_valid_i && !(|l_s2_fin) &&
                     !(|l_s3_fin) && (ps_rem == 4'd0 || (ps_rem == 4'd1 && wbo_ready_i));

  // ------------------------------------------------------------------------------ control
  logic              err_q, err_d;

  always_comb begin
    state_d    = state_q;
    wb_rows_d  = wb_rows_q;
    wb_next_d  = wb_next_q;
    ps_last_d  = ps_last_q;
    init_row_d = init_row_q;
    err_d      = err_q;
    if (clear_i) err_d = 1'b0;
    if ((ent_take && (!x_in_range || (ent_dual_i && !x2_ok))) || ps_drop) err_d = 1'b1;
    case (state_q)
      ST_INIT: begin
        init_row_d = init_row_q + ROW_W'(1);
        if (init_row_q == ROW_W'(ACT_DEPTH - 1)) state_d = ST_IDLE;
      end
      ST_IDLE: begin
        if (wb_start_i) begin
          state_d   = ST_WB;
          wb_next_d = ps_issue ? ROWS_W'(1) : '0;
          wb_rows_d = wb_rows_clamped;
          ps_last_d = ps_last_cur || ((ps_take || ps_drop) && ent_last_i);
          if (wb_rows_i > ROWS_W'(ACT_DEPTH)) err_d = 1'b1;
        end
      end
      ST_WB: begin
        if (ps_issue) wb_next_d = wb_next_q + ROWS_W'(1);
        if ((ps_take || ps_drop) && ent_last_i) ps_last_d = 1'b1;
        if (wb_done_o) state_d = ST_IDLE;
      end
      default: state_d = ST_INIT;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= ST_INIT;
      wb_rows_q  <= '0;
      wb_next_q  <= '0;
      ps_last_q  <= 1'b1;
      init_row_q <= '0;
      err_q      <= 1'b0;
    end else begin
      state_q    <= state_d;
      wb_rows_q  <= wb_rows_d;
      wb_next_q  <= wb_next_d;
      ps_last_q  <= ps_last_d;
      init_row_q <= init_row_d;
      err_q      <= err_d;
    end
  end

  assign err_row_o = err_q;

  logic unused;
  assign unused = ^{unused_oq_ready, unused_oq_full, l_s2_busy};

endmodule

`resetall
`default_nettype wire
