// EIE local leading-non-zero detector: walks a PE's source activations and emits the non-zero ones.
//
// Local row r of the source buffer holds the global activation j = r * NUM_PE + pe_id_i. On
// scan_start_i the unit walks r = 0, 1, ... while j < in_len_i (j is stepped by NUM_PE, no
// division) and r < ACT_DEPTH, reading one row per cycle from the buffer's read port, and emits
// every activation that is != 0 (negatives included) as (j, a) on the nz_* stream, in order of j.
//
// Timing: the buffer is an SRAM with registered read (data one cycle after rd_req_o & rd_gnt_i).
// Read data goes straight into a 3-entry output queue (eie_act_queue, registered outputs); a read
// is issued only while queue level + reads in flight <= 2, so a back-pressured nz stream never
// loses or repeats a value and nothing combinational runs from nz_ready_i to the SRAM. Rate: one row
// scanned per cycle (zeros included) and so at most one non-zero per cycle, sustained while
// nz_ready_i is high; the first non-zero appears 2 cycles after the row is read (read + queue).
//
// nz_idx_o while nz_valid_o is low: a lower bound of the indices still to come (eie_lnzd_node's
// child protocol), so the tree need not wait for this PE's scan to reach its next non-zero.
//
// nz_done_o is high while no scan is running and every non-zero found has been taken; it drops
// the cycle after scan_start_i and rises again after the last non-zero left (so a consumer sees
// done only with nz_valid_o low). scan_start_i while a scan runs is ignored. err_len_o (sticky
// until the next scan_start_i) is set when the scan stopped at r = ACT_DEPTH with j still < in_len.
`default_nettype none

module eie_lnzd_local #(
    parameter int ACT_DEPTH = 1024,  // local rows of the source buffer, >= 2
    parameter int ACT_W     = 16,    // activation bits, >= 1
    parameter int IDX_W     = 15,    // global index bits (j and in_len), >= 1
    parameter int NUM_PE    = 64,    // PEs (row interleave), >= 1
    // derived, do not override
    parameter int ROW_W     = $clog2(ACT_DEPTH)
) (
    input  wire logic              clk_i,
    input  wire logic              rst_ni,
    input  wire logic [15:0]       pe_id_i,       // this PE, 0..NUM_PE-1 (a constant)
    // control
    input  wire logic              scan_start_i,  // pulse: start a scan of the source buffer
    input  wire logic [IDX_W-1:0]  in_len_i,      // global input length of the layer
    // read port of the source buffer (registered read)
    output logic                   rd_req_o,
    input  wire logic              rd_gnt_i,      // the port is free this cycle
    output logic [ROW_W-1:0]       rd_addr_o,
    input  wire logic [ACT_W-1:0]  rd_data_i,     // data of the read granted last cycle
    // non-zero stream
    output logic                   nz_valid_o,
    input  wire logic              nz_ready_i,
    output logic [IDX_W-1:0]       nz_idx_o,      // global j
    output logic [ACT_W-1:0]       nz_act_o,
    output logic                   nz_done_o,
    output logic                   err_len_o
);

  localparam int ROWS_W = $clog2(ACT_DEPTH + 1);
  localparam int NPE_W  = $clog2(NUM_PE + 1);
  localparam int G_W    = ((IDX_W > NPE_W) ? IDX_W : NPE_W) + 1;  // j < in_len + NUM_PE fits

  initial begin
    if (ACT_DEPTH < 2 || ACT_W < 1 || IDX_W < 1) begin
      $display("%m: ACT_DEPTH = %0d (>= 2), ACT_W = %0d, IDX_W = %0d (>= 1) out of range",
               ACT_DEPTH, ACT_W, IDX_W);
      $fatal(1);
    end
    if (NUM_PE < 1 || NUM_PE > 65536) begin
      $display("%m: NUM_PE = %0d must be in 1..65536", NUM_PE);
      $fatal(1);
    end
    if (ROW_W != $clog2(ACT_DEPTH)) begin
      $display("%m: ROW_W is derived from ACT_DEPTH, do not override it");
      $fatal(1);
    end
  end

  logic              scan_q, scan_d;
  logic [ROWS_W-1:0] row_q, row_d;        // next local row to read
  logic [G_W-1:0]    gidx_q, gidx_d;      // its global index row * NUM_PE + pe_id_i
  logic [IDX_W-1:0]  len_q, len_d;
  logic              err_q, err_d;
  logic              infl_q;              // a read was granted last cycle
  logic [IDX_W-1:0]  infl_idx_q;
  logic              in_vec, in_buf, more, credit, issue, start;

  logic              q_push_ready, q_pop_valid;
  logic [IDX_W-1:0]  q_pop_idx;
  logic [1:0]        q_level;
  logic [2:0]        q_occ;
  logic              unused_q, unused_q_full, unused_q_empty;

  assign in_vec   = (gidx_q < G_W'(len_q));
  assign in_buf   = (row_q < ROWS_W'(ACT_DEPTH));
  assign more     = scan_q & in_vec & in_buf;
  assign q_occ    = 3'(q_level) + 3'(infl_q);
  assign credit   = (q_occ <= 3'd2);
  assign rd_req_o = more & credit;
  assign issue    = rd_req_o & rd_gnt_i;
  assign rd_addr_o = row_q[ROW_W-1:0];
  assign nz_done_o = ~scan_q & ~infl_q & ~q_pop_valid;
  assign start    = scan_start_i & nz_done_o;
  assign err_len_o = err_q;

  always_comb begin
    scan_d = scan_q;
    row_d  = row_q;
    gidx_d = gidx_q;
    len_d  = len_q;
    err_d  = err_q;
    if (start) begin
      scan_d = 1'b1;
      row_d  = '0;
      gidx_d = G_W'(pe_id_i);
      len_d  = in_len_i;
      err_d  = 1'b0;
    end else if (scan_q) begin
      if (issue) begin
        row_d  = row_q + ROWS_W'(1);
        gidx_d = gidx_q + G_W'(NUM_PE);
      end
      if (!more) begin
        scan_d = 1'b0;
        err_d  = in_vec;  // stopped by the buffer's end, not by in_len
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      scan_q     <= 1'b0;
      row_q      <= '0;
      gidx_q     <= '0;
      len_q      <= '0;
      err_q      <= 1'b0;
      infl_q     <= 1'b0;
      infl_idx_q <= '0;
    end else begin
      scan_q     <= scan_d;
      row_q      <= row_d;
      gidx_q     <= gidx_d;
      len_q      <= len_d;
      err_q      <= err_d;
      infl_q     <= issue;
      if (issue) infl_idx_q <= gidx_q[IDX_W-1:0];
    end
  end

`ifndef SYNTHESIS
  // pe_id_i is a constant tie-off (eie_top), not a parameter, so that every PE is one
  // parameterization (one Verilator hierarchical block); a port cannot be checked at time 0, so
  // it is checked whenever a scan starts.
  always @(posedge clk_i) begin
    if (start && 32'(pe_id_i) >= NUM_PE) begin
      $display("%m: pe_id_i = %0d must be in 0..NUM_PE-1 (NUM_PE = %0d)", pe_id_i, NUM_PE);
      $fatal(1);
    end
  end
`endif

  eie_act_queue #(
      .DEPTH(3),
      .IDX_W(IDX_W),
      .ACT_W(ACT_W)
  ) u_out_queue (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .push_valid_i(infl_q && (rd_data_i != '0)),
      .push_ready_o(q_push_ready),  // always 1 when pushed (credit count)
      .push_idx_i  (infl_idx_q),
      .push_act_i  (rd_data_i),
      .pop_valid_o (q_pop_valid),
      .pop_ready_i (nz_ready_i),
      .pop_idx_o   (q_pop_idx),
      .pop_act_o   (nz_act_o),
      .full_o      (unused_q_full),
      .empty_o     (unused_q_empty),
      .level_o     (q_level)
  );
  assign unused_q   = q_push_ready ^ unused_q_full ^ unused_q_empty;
  assign nz_valid_o = q_pop_valid;
  // While no pair is valid, nz_idx_o is the bound of eie_lnzd_node's child protocol: the index of
  // the read in flight, else of the next row to read (every later pair comes from there on;
  // truncated to IDX_W bits it can only get smaller, which stays a bound).
  assign nz_idx_o = q_pop_valid ? q_pop_idx : infl_q ? infl_idx_q : gidx_q[IDX_W-1:0];

endmodule

`resetall
`default_nettype wire
