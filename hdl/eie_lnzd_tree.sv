// EIE leading-non-zero-detection (LNZD) tree: merges the local non-zero streams of NUM_PE PEs
// into one stream of (j, a_j) in increasing j for the CCU to broadcast (paper section 3).
//
// Structure: a generate tree of eie_lnzd_node with fan-in 4, built level by level. Level 0 holds
// the NUM_PE leaf streams; level l+1 holds ceil(n_l / 4) nodes, node i merging streams 4i..4i+3 of
// level l (the last node of a level is partial, 1..3 children, when n_l is not a multiple of 4).
// The single node of the last level is the root; its output is out_*_o / done_o.
//
//   LEVELS    = smallest L >= 1 with 4^L >= NUM_PE
//   NUM_NODES = sum over l = 1..LEVELS of ceil(NUM_PE / 4^l)
//     NUM_PE =  1:  1 node  (one 1-child node), 1 level
//     NUM_PE =  4:  1 node,                     1 level
//     NUM_PE =  5:  2 + 1           =  3 nodes, 2 levels
//     NUM_PE = 16:  4 + 1           =  5 nodes, 2 levels
//     NUM_PE = 64: 16 + 4 + 1       = 21 nodes, 3 levels (the paper's count)
//     NUM_PE = 70: 18 + 5 + 2 + 1   = 26 nodes, 4 levels
//
// Latency: every node has a registered output, so a pair accepted from a leaf at a clock edge
// reaches out_*_o LEVELS cycles later when nothing stalls (right after the LEVELS-th edge counting
// the leaf's own), and done_o rises LEVELS edges after the last leaf raises its done (or at the edge
// where the last pair leaves the root, whichever is later). Throughput: one pair per cycle sustained
// at the root while every leaf keeps a head available and the consumer is ready (each node buffers
// two pairs, so a child popped on consecutive cycles refills every cycle).
//
// Leaf protocol (the PE's local LNZD, docs/pe-contract.md): leaf k sends its non-zeros in strictly
// increasing j (its columns are j = r*NUM_PE + k, so the leaf sets are disjoint), then holds
// leaf_done_i[k] high until the next start_i; leaf_done_i must be low from the cycle after start_i
// until the leaf's last pair has been accepted, and the first pair of a vector comes no earlier than
// the cycle after start_i. start_i (pulse) clears every node's done state; issue it only after done_o
// (pairs are not flushed). See eie_lnzd_node for the merge rule.
`default_nettype none

module eie_lnzd_tree #(
    parameter int NUM_PE = 64,  // leaf streams (PEs), any value >= 1
    parameter int IDX_W  = 15,  // bits of the column index j
    parameter int ACT_W  = 16   // bits of the activation a_j
) (
    input  wire logic                    clk_i,
    input  wire logic                    rst_ni,
    input  wire logic                    start_i,      // pulse: a new input vector begins
    // leaves (flattened lanes: leaf k is bit k / bits [k*W +: W])
    input  wire logic [NUM_PE-1:0]       leaf_valid_i,
    output logic      [NUM_PE-1:0]       leaf_ready_o,
    input  wire logic [NUM_PE*IDX_W-1:0] leaf_idx_i,
    input  wire logic [NUM_PE*ACT_W-1:0] leaf_act_i,
    input  wire logic [NUM_PE-1:0]       leaf_done_i,
    // root: merged stream to the CCU broadcast
    output logic                         out_valid_o,
    input  wire logic                    out_ready_i,
    output logic      [IDX_W-1:0]        out_idx_o,
    output logic      [ACT_W-1:0]        out_act_o,
    output logic                         done_o
);

  // Streams at level l (level 0: the leaves).
  function automatic int level_count(input int n, input int l);
    int c;
    c = n;
    for (int k = 0; k < l; k++) c = (c + 3) / 4;
    level_count = c;  // assignment to the name, not `return`: Yosys 0.23 rejects `return`
  endfunction

  // First slot of level l on the stream buses below (leaves first, then each level's nodes).
  function automatic int level_base(input int n, input int l);
    int b;
    int c;
    b = 0;
    c = n;
    for (int k = 0; k < l; k++) begin
      b = b + c;
      c = (c + 3) / 4;
    end
    level_base = b;
  endfunction

  function automatic int tree_levels(input int n);
    int lv;
    int c;
    lv = 1;
    c  = (n + 3) / 4;
    while (c > 1) begin
      c  = (c + 3) / 4;
      lv = lv + 1;
    end
    tree_levels = lv;
  endfunction

  localparam int LEVELS    = tree_levels(NUM_PE);                      // node levels = latency
  localparam int NUM_NODES = level_base(NUM_PE, LEVELS + 1) - NUM_PE;  // all node outputs
  localparam int SLOTS     = NUM_PE + NUM_NODES;                       // streams: leaves + nodes
  localparam int ROOT      = SLOTS - 1;                                // slot of the root output

  initial begin
    if (NUM_PE < 1) begin
      $display("%m: NUM_PE = %0d, must be >= 1", NUM_PE);
      $fatal(1);
    end
    if (IDX_W < 1 || ACT_W < 1) begin
      $display("%m: IDX_W = %0d and ACT_W = %0d must be >= 1", IDX_W, ACT_W);
      $fatal(1);
    end
    if (level_count(NUM_PE, LEVELS) != 1) begin
      $display("%m: internal error, %0d streams at the top level", level_count(NUM_PE, LEVELS));
      $fatal(1);
    end
  end

  // Every stream of the tree, one slot each: slots 0..NUM_PE-1 are the leaves, then the nodes of
  // level 1, level 2, ...; slot ROOT is the root node's output.
  wire logic [SLOTS-1:0]       s_valid;
  wire logic [SLOTS-1:0]       s_ready;
  wire logic [SLOTS*IDX_W-1:0] s_idx;
  wire logic [SLOTS*ACT_W-1:0] s_act;
  wire logic [SLOTS-1:0]       s_done;

  assign s_valid[NUM_PE-1:0]          = leaf_valid_i;
  assign s_idx[NUM_PE*IDX_W-1:0]      = leaf_idx_i;
  assign s_act[NUM_PE*ACT_W-1:0]      = leaf_act_i;
  assign s_done[NUM_PE-1:0]           = leaf_done_i;
  assign leaf_ready_o                 = s_ready[NUM_PE-1:0];

  for (genvar l = 0; l < LEVELS; l++) begin : g_level
    localparam int N_IN     = level_count(NUM_PE, l);  // streams merged by this level
    localparam int N_OUT    = (N_IN + 3) / 4;          // nodes of this level
    localparam int IN_BASE  = level_base(NUM_PE, l);
    localparam int OUT_BASE = IN_BASE + N_IN;
    // this level's input streams, sliced off the slot buses
    wire logic [N_IN-1:0]       in_valid;
    wire logic [N_IN-1:0]       in_ready;
    wire logic [N_IN*IDX_W-1:0] in_idx;
    wire logic [N_IN*ACT_W-1:0] in_act;
    wire logic [N_IN-1:0]       in_done;
    assign in_valid = s_valid[IN_BASE +: N_IN];
    assign in_idx   = s_idx[IN_BASE*IDX_W +: N_IN*IDX_W];
    assign in_act   = s_act[IN_BASE*ACT_W +: N_IN*ACT_W];
    assign in_done  = s_done[IN_BASE +: N_IN];
    assign s_ready[IN_BASE +: N_IN] = in_ready;

    for (genvar i = 0; i < N_OUT; i++) begin : g_node
      localparam int FIRST = 4 * i;                                // first child in this level
      localparam int KIDS  = (N_IN - FIRST >= 4) ? 4 : N_IN - FIRST;
      wire logic             node_valid;
      wire logic [IDX_W-1:0] node_idx;
      wire logic [ACT_W-1:0] node_act;
      wire logic             node_done;

      eie_lnzd_node #(
          .CHILDREN(KIDS),
          .IDX_W   (IDX_W),
          .ACT_W   (ACT_W)
      ) u_node (
          .clk_i        (clk_i),
          .rst_ni       (rst_ni),
          .start_i      (start_i),
          .child_valid_i(in_valid[FIRST +: KIDS]),
          .child_ready_o(in_ready[FIRST +: KIDS]),
          .child_idx_i  (in_idx[FIRST*IDX_W +: KIDS*IDX_W]),
          .child_act_i  (in_act[FIRST*ACT_W +: KIDS*ACT_W]),
          .child_done_i (in_done[FIRST +: KIDS]),
          .out_valid_o  (node_valid),
          .out_ready_i  (s_ready[OUT_BASE + i]),
          .out_idx_o    (node_idx),
          .out_act_o    (node_act),
          .done_o       (node_done)
      );

      assign s_valid[OUT_BASE + i]                = node_valid;
      assign s_idx[(OUT_BASE + i)*IDX_W +: IDX_W] = node_idx;
      assign s_act[(OUT_BASE + i)*ACT_W +: ACT_W] = node_act;
      assign s_done[OUT_BASE + i]                 = node_done;
    end
  end

  assign out_valid_o    = s_valid[ROOT];
  assign s_ready[ROOT]  = out_ready_i;
  assign out_idx_o      = s_idx[ROOT*IDX_W +: IDX_W];
  assign out_act_o      = s_act[ROOT*ACT_W +: ACT_W];
  assign done_o         = s_done[ROOT];

endmodule

`resetall
`default_nettype wire
