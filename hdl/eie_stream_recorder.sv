// Simulation-only transaction recorder of one valid/ready stream (docs/performance.md).
//
// Not part of the accelerator: eie_top instantiates it on its output stream inside
// `ifndef SYNTHESIS`, and synthesis sees an empty module. It lets a testbench read the stream in
// bulk instead of waking once per beat: every beat that moves (valid_i and ready_i high at a rising
// edge) is written into a ring of DEPTH entries with the cycle it moved in, and two toggles tell
// the bench when to read: half_q every DEPTH/2 beats (read before the ring wraps), mark_q on every
// beat with mark_i high (e.g. the last beat of a stream). verif/tb/recorder.py reads it.
//
// What the bench sees (all plain variables, read through VPI, never driven from outside):
//   count_q             beats recorded since time 0 (not cleared by a reset; it wraps at 2^32)
//   entry_q[n % DEPTH]  beat n: {cycle, beat_i}, beat_i as it moved and the rising edge it moved at
//                       (32 bits, counted from time 0: the first edge is 1); one entry is one VPI
//                       read for the bench
//   cycles_q            rising edges since time 0
//   stalls_q            rising edges with valid_i high and ready_i low (the receiver held off)
//   half_q, mark_q      toggles (above)
//   xerr_q / xerr_cycle_q  edges where valid_i or ready_i (or beat_i/mark_i of a moving beat) was
//                       X/Z: how many, and the latest one (a 4-state simulator only; before the
//                       first reset the bench expects some and counts from its own start)
`default_nettype none

module eie_stream_recorder #(
    parameter int WIDTH = 32,    // bits per beat, 1..64
    parameter int DEPTH = 1024   // ring entries: a power of two, 4..65536
) (
    input  wire logic             clk_i,
    input  wire logic             valid_i,
    input  wire logic             ready_i,
    input  wire logic             mark_i,    // toggle mark_q when this beat moves
    input  wire logic [WIDTH-1:0] beat_i
);

  initial begin
    if (WIDTH < 1 || WIDTH > 64) begin
      $display("%m: WIDTH = %0d out of range 1..64", WIDTH);
      $fatal(1);
    end
    if (DEPTH < 4 || DEPTH > 65536 || (DEPTH & (DEPTH - 1)) != 0) begin
      $display("%m: DEPTH = %0d must be a power of two in 4..65536", DEPTH);
      $fatal(1);
    end
  end

`ifndef SYNTHESIS
  // Counters start at 0 at time 0 and no reset clears them (the bench keeps its read position
  // across resets of the design), hence initial values instead of a reset branch.
  // They are read only by the bench (VPI), never by the design: UNUSEDSIGNAL.
  // verilator lint_off PROCASSINIT
  // verilator lint_off UNUSEDSIGNAL
  logic [WIDTH+31:0] entry_q [DEPTH];
  int unsigned      count_q = 0;
  int unsigned      cycles_q = 0;
  int unsigned      stalls_q = 0;
  int unsigned      xerr_q = 0;
  int unsigned      xerr_cycle_q = 0;
  logic             half_q = 1'b0;
  logic             mark_q = 1'b0;
  // verilator lint_on UNUSEDSIGNAL
  // verilator lint_on PROCASSINIT

  // X/Z check by reduction XOR (=== 1'bx): Icarus 11's $isunknown returns 1 for known values here.
  always_ff @(posedge clk_i) begin
    cycles_q <= cycles_q + 1;
    if ((^{valid_i, ready_i}) === 1'bx || (valid_i && ready_i && (^{mark_i, beat_i}) === 1'bx)) begin
      xerr_cycle_q <= cycles_q + 1;
      xerr_q <= xerr_q + 1;
    end else if (valid_i && ready_i) begin
      entry_q[count_q % DEPTH] <= {32'(cycles_q + 1), beat_i};
      count_q                  <= count_q + 1;
      if ((count_q + 1) % (DEPTH / 2) == 0) half_q <= ~half_q;
      if (mark_i) mark_q <= ~mark_q;
    end else if (valid_i) begin
      stalls_q <= stalls_q + 1;
    end
  end
`endif

endmodule

`resetall
`default_nettype wire
