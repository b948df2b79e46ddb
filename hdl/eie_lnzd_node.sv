// EIE leading-non-zero-detection (LNZD) node: merges up to four child streams of non-zero
// activations (j, a_j) into one stream in increasing j (paper section 3; a tree of these nodes feeds
// the CCU, four PEs at the leaves).
//
// Child protocol (one lane per child, flattened: lane c is bit c / bits [c*W +: W]):
//   - valid/ready stream of (idx, act) pairs in strictly increasing idx; the idx sets of different
//     children are disjoint (each PE owns the columns j = r*NUM_PE + PE_ID).
//   - bound: while a child is not valid (and not done), its idx lane is a lower bound of every idx it
//     will still present in this vector (0, or its last pair's idx, always qualify; a child whose
//     scan has passed j shows j). From the cycle after start_i on; stale in the start_i cycle.
//   - child_done_i[c] is a level: the child will send nothing more until the next start_i. It must
//     be low from the cycle after start_i until the child's last pair has been accepted (a child whose
//     done flag is a register cleared by the same start_i, like done_o here, does this). In the
//     start_i cycle itself a stale done from the previous vector is allowed, so a child presents
//     the first pair of a new vector no earlier than the cycle after start_i.
//
// Merge rule: a pair is taken from the child with the smallest valid head, and only when every
// other child has a valid head, is done, or shows a bound above that head. Otherwise a child that is
// still busy could later present a smaller idx. So the output never skips, repeats or reorders a
// pair, and a child that is still scanning a run of zeros far ahead does not hold the merge up. Two equal
// heads (not expected: disjoint sets) are taken one after the other, lowest lane first.
//
// Output: out_valid_o/out_ready_i/out_idx_o/out_act_o, fully registered with a two-entry skid
// buffer (output register + skid register). child_ready_o depends only on this node's registers and
// on the children's valid/idx/done (not on out_ready_i), so in a tree the ready paths never chain
// across levels. While out_valid_o is low, out_idx_o is this node's bound for its parent (registered:
// the smallest head or bound of its children that are not done, all ones when all are done, 0 in the
// cycle after start_i). Latency: a pair accepted from a child at a clock edge is on out_*_o right after
// that edge (one cycle per node level). Throughput: one pair per cycle sustained while the merge
// rule holds every cycle and the consumer is ready; back-pressure never loses a pair.
//
// done_o: registered; rises at the edge where the last pair leaves (or, with nothing to send, one
// edge after every child is done), i.e. only when every child is done and nothing is buffered;
// while done_o is high out_valid_o is low. Sticky until start_i, which clears it at the next edge
// (done_o is low in the cycle after start_i). start_i does not flush pairs: start a new vector
// only after done_o.
`default_nettype none

module eie_lnzd_node #(
    parameter int CHILDREN = 4,   // child streams merged by this node, 1..4 (< 4: partial node)
    parameter int IDX_W    = 15,  // bits of the column index j
    parameter int ACT_W    = 16   // bits of the activation a_j
) (
    input  wire logic                      clk_i,
    input  wire logic                      rst_ni,
    input  wire logic                      start_i,        // pulse: a new input vector begins
    // children (flattened lanes)
    input  wire logic [CHILDREN-1:0]       child_valid_i,
    output logic      [CHILDREN-1:0]       child_ready_o,
    input  wire logic [CHILDREN*IDX_W-1:0] child_idx_i,
    input  wire logic [CHILDREN*ACT_W-1:0] child_act_i,
    input  wire logic [CHILDREN-1:0]       child_done_i,
    // merged stream (to the parent node or the CCU)
    output logic                           out_valid_o,
    input  wire logic                      out_ready_i,
    output logic      [IDX_W-1:0]          out_idx_o,
    output logic      [ACT_W-1:0]          out_act_o,
    output logic                           done_o
);

  localparam int SEL_W  = (CHILDREN > 1) ? $clog2(CHILDREN) : 1;
  localparam int DATA_W = IDX_W + ACT_W;

  initial begin
    if (CHILDREN < 1 || CHILDREN > 4) begin
      $display("%m: CHILDREN = %0d, must be 1..4", CHILDREN);
      $fatal(1);
    end
    if (IDX_W < 1 || ACT_W < 1) begin
      $display("%m: IDX_W = %0d and ACT_W = %0d must be >= 1", IDX_W, ACT_W);
      $fatal(1);
    end
  end

  // ---------------------------------------------------------------- head selection (merge rule)
  logic              heads_known;  // no child can still present an index below the smallest head
  logic              any_valid;
  logic [SEL_W-1:0]  sel;          // lane of the smallest valid head
  logic [IDX_W-1:0]  sel_idx;
  logic [ACT_W-1:0]  sel_act;
  logic              take;         // a pair moves from child `sel` into this node at the edge
  logic              in_ready;

  always_comb begin
    sel       = '0;
    sel_idx   = '0;
    sel_act   = '0;
    any_valid = 1'b0;
    for (int c = 0; c < CHILDREN; c++) begin
      if (child_valid_i[c] && (!any_valid || child_idx_i[c*IDX_W +: IDX_W] < sel_idx)) begin
        sel     = SEL_W'(c);
        sel_idx = child_idx_i[c*IDX_W +: IDX_W];
        sel_act = child_act_i[c*ACT_W +: ACT_W];
      end
      any_valid = any_valid | child_valid_i[c];
    end
  end

  // child c rules itself out: valid (its head is >= the smallest), done, or its bound (the idx
  // lane while not valid) is above the smallest head
  logic [CHILDREN-1:0] child_clear;
  always_comb begin
    for (int c = 0; c < CHILDREN; c++) begin
      child_clear[c] = child_valid_i[c] || child_done_i[c] ||
                       (sel_idx < child_idx_i[c*IDX_W +: IDX_W]);
    end
  end
  assign heads_known = &child_clear;
  assign take        = in_ready & heads_known & any_valid;

  always_comb begin
    child_ready_o = '0;
    child_ready_o[sel] = take;
  end

  // ---------------------------------------------------------------- output register + skid buffer
  logic              out_valid_q, out_valid_d;
  logic [DATA_W-1:0] out_data_q, out_data_d;
  logic              skid_valid_q, skid_valid_d;
  logic [DATA_W-1:0] skid_data_q, skid_data_d;
  logic              done_q, done_d;
  logic [IDX_W-1:0]  bound_q, bound_d;   // shown on out_idx_o while out_valid_o is low
  logic              out_fire;

  assign in_ready = ~skid_valid_q;
  assign out_fire = out_valid_q & out_ready_i;

  always_comb begin
    out_valid_d  = out_valid_q;
    out_data_d   = out_data_q;
    skid_valid_d = skid_valid_q;
    skid_data_d  = skid_data_q;
    if (out_fire || !out_valid_q) begin
      // the output register is free at this edge: refill it from the skid, else from a child
      if (skid_valid_q) begin
        out_valid_d  = 1'b1;
        out_data_d   = skid_data_q;
        skid_valid_d = 1'b0;
      end else begin
        out_valid_d  = take;
        if (take) out_data_d = {sel_idx, sel_act};
      end
    end else if (take) begin
      // output held by back-pressure: park the pair (take implies the skid is empty)
      skid_valid_d = 1'b1;
      skid_data_d  = {sel_idx, sel_act};
    end
  end

  // Bound: the smallest index any child may still present (its head or its own bound; a done child
  // none), all ones when every child is done. 0 after start_i (the children's lanes are stale in
  // the start_i cycle), so it is never above a pair still to come.
  always_comb begin
    bound_d = '1;
    for (int c = 0; c < CHILDREN; c++) begin
      if (!child_done_i[c] && child_idx_i[c*IDX_W +: IDX_W] < bound_d) begin
        bound_d = child_idx_i[c*IDX_W +: IDX_W];
      end
    end
    if (start_i) bound_d = '0;
  end

  // Done when every child is done and neither register holds a pair after this edge (no pair can be
  // taken: a done child is not valid, and heads_known with nothing valid means all are done).
  always_comb begin
    done_d = done_q;
    if (start_i) begin
      done_d = 1'b0;
    end else if (!any_valid && &child_done_i && !skid_valid_q && (out_fire || !out_valid_q)) begin
      done_d = 1'b1;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_valid_q  <= 1'b0;
      skid_valid_q <= 1'b0;
      done_q       <= 1'b0;
      bound_q      <= '0;
    end else begin
      out_valid_q  <= out_valid_d;
      skid_valid_q <= skid_valid_d;
      done_q       <= done_d;
      bound_q      <= bound_d;
    end
  end

  // Data registers are reset too (a few flops) so the outputs are never X, even while invalid.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_data_q  <= '0;
      skid_data_q <= '0;
    end else begin
      out_data_q  <= out_data_d;
      skid_data_q <= skid_data_d;
    end
  end

  assign out_valid_o = out_valid_q;
  assign out_idx_o   = out_valid_q ? out_data_q[ACT_W +: IDX_W] : bound_q;
  assign out_act_o   = out_data_q[ACT_W-1:0];
  assign done_o                 = done_q;

endmodule

`resetall
`default_nettype wire
