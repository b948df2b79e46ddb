// EIE activation read/write unit: ping-pong source/destination activation buffers + local LNZD.
//
// Two ACT_DEPTH x ACT_W single-port SRAMs (eie_sram_sp). src_sel (src_sel_o) names the physical
// buffer that is the SOURCE (the layer's input activations of this PE: local row r holds global
// j = r * NUM_PE + pe_id_i); the other is the DESTINATION (written by the arithmetic unit's write-back
// stream, wbi_*). swap_i flips the roles, so a layer's outputs become the next layer's inputs with no
// data movement. The local LNZD (eie_lnzd_local) scans the source and emits its non-zeros (nz_*).
//
// Each buffer has one port, muxed by role:
//   source      : host I/O access if io_en_i targets it, else the LNZD's read.
//   destination : host I/O access if io_en_i targets it, else the write-back write.
// Host I/O (I/O mode, meant for while the unit is idle) therefore wins a conflict; the loser
// waits (wbi_ready_o low / LNZD read not granted), nothing is lost. io_dst_i picks the buffer by
// ROLE (0 source, 1 destination); a read returns io_rdata_o with io_rvalid_o one cycle later.
// Write-back beats are accepted one per cycle (wbi_ready_o = 1 unless the host uses the
// destination). swap_i must be pulsed only while no scan and no write-back is in progress.
`default_nettype none

module eie_act_rw #(
    parameter int ACT_DEPTH = 1024,  // local activations per buffer, >= 2
    parameter int ACT_W     = 16,    // activation bits, >= 1
    parameter int IDX_W     = 15,    // global index bits (j and in_len), >= 1
    parameter int NUM_PE    = 64,    // PEs (row interleave), >= 1
    // derived, do not override
    parameter int ROW_W     = $clog2(ACT_DEPTH)
) (
    input  wire logic              clk_i,
    input  wire logic              rst_ni,
    input  wire logic [15:0]       pe_id_i,       // this PE, 0..NUM_PE-1 (a constant)
    // roles
    input  wire logic              swap_i,        // pulse: source <-> destination
    output logic                   src_sel_o,     // physical buffer (0/1) that is the source
    // write-back stream into the destination (from eie_arith)
    input  wire logic              wbi_valid_i,
    output logic                   wbi_ready_o,
    input  wire logic [ROW_W-1:0]  wbi_row_i,
    input  wire logic [ACT_W-1:0]  wbi_data_i,
    // local LNZD over the source
    input  wire logic              scan_start_i,
    input  wire logic [IDX_W-1:0]  in_len_i,
    output logic                   nz_valid_o,
    input  wire logic              nz_ready_i,
    output logic [IDX_W-1:0]       nz_idx_o,
    output logic [ACT_W-1:0]       nz_act_o,
    output logic                   nz_done_o,
    output logic                   err_len_o,
    // host I/O port
    input  wire logic              io_en_i,
    input  wire logic              io_we_i,
    input  wire logic              io_dst_i,      // 0: source buffer, 1: destination buffer
    input  wire logic [ROW_W-1:0]  io_addr_i,
    input  wire logic [ACT_W-1:0]  io_wdata_i,
    output logic                   io_rvalid_o,
    output logic [ACT_W-1:0]       io_rdata_o
);

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

  logic src_sel_q;
  logic io_buf;                 // physical buffer the host addresses this cycle
  logic io_rvalid_q, io_rbuf_q;
  logic lnzd_req, lnzd_gnt;
  logic [ROW_W-1:0] lnzd_addr;
  logic [ACT_W-1:0] lnzd_data;
  logic wb_fire;

  logic             mem_en    [2];
  logic             mem_we    [2];
  logic [ROW_W-1:0] mem_addr  [2];
  logic [ACT_W-1:0] mem_wdata [2];
  logic [ACT_W-1:0] mem_rdata [2];

  assign src_sel_o   = src_sel_q;
  assign io_buf      = io_dst_i ? ~src_sel_q : src_sel_q;
  assign lnzd_gnt    = ~(io_en_i & ~io_dst_i);
  assign wbi_ready_o = ~(io_en_i & io_dst_i);
  assign wb_fire     = wbi_valid_i & wbi_ready_o;
  assign lnzd_data   = src_sel_q ? mem_rdata[1] : mem_rdata[0];
  assign io_rvalid_o = io_rvalid_q;
  assign io_rdata_o  = io_rbuf_q ? mem_rdata[1] : mem_rdata[0];

  for (genvar b = 0; b < 2; b++) begin : g_buf
    logic is_src;
    assign is_src = (src_sel_q == 1'(b));

    always_comb begin
      if (io_en_i && io_buf == 1'(b)) begin
        mem_en[b]    = 1'b1;
        mem_we[b]    = io_we_i;
        mem_addr[b]  = io_addr_i;
        mem_wdata[b] = io_wdata_i;
      end else if (is_src) begin
        mem_en[b]    = lnzd_req & lnzd_gnt;
        mem_we[b]    = 1'b0;
        mem_addr[b]  = lnzd_addr;
        mem_wdata[b] = wbi_data_i;
      end else begin
        mem_en[b]    = wb_fire;
        mem_we[b]    = 1'b1;
        mem_addr[b]  = wbi_row_i;
        mem_wdata[b] = wbi_data_i;
      end
    end

    eie_sram_sp #(
        .DEPTH(ACT_DEPTH),
        .WIDTH(ACT_W)
    ) u_buf (
        .clk_i  (clk_i),
        .rst_ni (rst_ni),
        .en_i   (mem_en[b]),
        .we_i   (mem_we[b]),
        .addr_i (mem_addr[b]),
        .wdata_i(mem_wdata[b]),
        .rdata_o(mem_rdata[b])
    );
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      src_sel_q   <= 1'b0;
      io_rvalid_q <= 1'b0;
      io_rbuf_q   <= 1'b0;
    end else begin
      if (swap_i) src_sel_q <= ~src_sel_q;
      io_rvalid_q <= io_en_i & ~io_we_i;
      if (io_en_i && !io_we_i) io_rbuf_q <= io_buf;
    end
  end

  eie_lnzd_local #(
      .ACT_DEPTH(ACT_DEPTH),
      .ACT_W    (ACT_W),
      .IDX_W    (IDX_W),
      .NUM_PE   (NUM_PE)
  ) u_lnzd (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .pe_id_i     (pe_id_i),
      .scan_start_i(scan_start_i),
      .in_len_i    (in_len_i),
      .rd_req_o    (lnzd_req),
      .rd_gnt_i    (lnzd_gnt),
      .rd_addr_o   (lnzd_addr),
      .rd_data_i   (lnzd_data),
      .nz_valid_o  (nz_valid_o),
      .nz_ready_i  (nz_ready_i),
      .nz_idx_o    (nz_idx_o),
      .nz_act_o    (nz_act_o),
      .nz_done_o   (nz_done_o),
      .err_len_o   (err_len_o)
  );

endmodule

`resetall
`default_nettype wire
