// EIE activation queue: a synchronous FIFO of broadcast (column index, activation) pairs.
//
// One per PE (paper: depth 8). It absorbs per-column load imbalance between PEs: the CCU broadcasts
// a non-zero activation only while every PE's queue accepts it.
//
// Timing: fully registered. push_ready_o depends only on the fill level (a full queue refuses a push
// even in a cycle where it is popped, as the paper's broadcast stop does), pop_valid_o only on the
// level: there is no combinational path from any input to any output, so a push is visible at the
// output one cycle after it is accepted. Depth 1 therefore sustains one pair every other cycle.
`default_nettype none

module eie_act_queue #(
    parameter int DEPTH   = 8,   // entries, any value >= 1 (not only powers of two)
    parameter int IDX_W   = 15,  // bits of the broadcast column index j
    parameter int ACT_W   = 16,  // bits of the activation a_j
    // derived, do not override
    parameter int LEVEL_W = $clog2(DEPTH + 1)
) (
    input  wire logic               clk_i,
    input  wire logic               rst_ni,
    // push side (from the broadcast)
    input  wire logic               push_valid_i,
    output logic                    push_ready_o,
    input  wire logic [IDX_W-1:0]   push_idx_i,
    input  wire logic [ACT_W-1:0]   push_act_i,
    // pop side (to the pointer-read unit)
    output logic                    pop_valid_o,
    input  wire logic               pop_ready_i,
    output logic [IDX_W-1:0]        pop_idx_o,
    output logic [ACT_W-1:0]        pop_act_o,
    // status
    output logic                    full_o,
    output logic                    empty_o,
    output logic [LEVEL_W-1:0]      level_o
);

  localparam int PTR_W = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam int DATA_W = IDX_W + ACT_W;

  initial begin
    if (DEPTH < 1) begin
      $display("%m: DEPTH = %0d, must be >= 1", DEPTH);
      $fatal(1);
    end
    if (IDX_W < 1 || ACT_W < 1) begin
      $display("%m: IDX_W = %0d and ACT_W = %0d must be >= 1", IDX_W, ACT_W);
      $fatal(1);
    end
    if (LEVEL_W != $clog2(DEPTH + 1)) begin
      $display("%m: LEVEL_W is derived from DEPTH, do not override it");
      $fatal(1);
    end
  end

  logic [DATA_W-1:0] mem_q [DEPTH];
  logic [PTR_W-1:0]  wr_ptr_q, wr_ptr_d;
  logic [PTR_W-1:0]  rd_ptr_q, rd_ptr_d;
  logic [LEVEL_W-1:0] level_q, level_d;
  logic push_fire, pop_fire;

  assign push_ready_o = (level_q != LEVEL_W'(DEPTH));
  assign pop_valid_o  = (level_q != '0);
  assign push_fire    = push_valid_i & push_ready_o;
  assign pop_fire     = pop_valid_o & pop_ready_i;

  // Data outputs are 0 while empty, so they are never X although the storage has no reset (which
  // lets synthesis map it to LUT RAM instead of flops).
  assign {pop_idx_o, pop_act_o} = pop_valid_o ? mem_q[rd_ptr_q] : '0;
  assign full_o  = ~push_ready_o;
  assign empty_o = ~pop_valid_o;
  assign level_o = level_q;

  // Wrap explicitly: DEPTH need not be a power of two.
  function automatic logic [PTR_W-1:0] next_ptr(input logic [PTR_W-1:0] ptr);
    next_ptr = (ptr == PTR_W'(DEPTH - 1)) ? '0 : ptr + 1'b1;
  endfunction

  always_comb begin
    wr_ptr_d = wr_ptr_q;
    rd_ptr_d = rd_ptr_q;
    level_d  = level_q;
    if (push_fire) wr_ptr_d = next_ptr(wr_ptr_q);
    if (pop_fire) rd_ptr_d = next_ptr(rd_ptr_q);
    if (push_fire && !pop_fire) level_d = level_q + 1'b1;
    else if (!push_fire && pop_fire) level_d = level_q - 1'b1;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q <= '0;
      rd_ptr_q <= '0;
      level_q  <= '0;
    end else begin
      wr_ptr_q <= wr_ptr_d;
      rd_ptr_q <= rd_ptr_d;
      level_q  <= level_d;
    end
  end

  // Storage without reset: only the written slot changes.
  always_ff @(posedge clk_i) begin
    if (push_fire) mem_q[wr_ptr_q] <= {push_idx_i, push_act_i};
  end

endmodule

`resetall
`default_nettype wire
