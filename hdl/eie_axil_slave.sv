// AXI4-Lite slave to a simple register port (one register access per transaction).
//
// Write: the address and data channels are accepted independently (either order, or together) and
// held; when both are held and the response channel is free, reg_wr_o pulses for one cycle with the
// address, data and strobes, and the response (OKAY, or SLVERR when reg_wr_err_i is high in that
// cycle) is returned on B. Read: the address is accepted and held (AR ready while nothing is held
// and R is free); the cycle after, reg_rd_o pulses with it, and reg_rdata_i / reg_rd_err_i are
// sampled in that cycle and held on R until taken. No register-port output depends on an AXI input
// in the same cycle (docs/performance.md: the register read mux is not re-evaluated on every
// simulator evaluation).
// One outstanding transaction per direction; every channel is registered (no combinational path
// from a valid to a ready).
`default_nettype none

module eie_axil_slave #(
    parameter int ADDR_W = 12  // byte address bits, >= 3
) (
    input  wire logic              clk_i,
    input  wire logic              rst_ni,
    // AXI4-Lite slave
    input  wire logic              s_axil_awvalid_i,
    output logic                   s_axil_awready_o,
    input  wire logic [ADDR_W-1:0] s_axil_awaddr_i,
    input  wire logic              s_axil_wvalid_i,
    output logic                   s_axil_wready_o,
    input  wire logic [31:0]       s_axil_wdata_i,
    input  wire logic [3:0]        s_axil_wstrb_i,
    output logic                   s_axil_bvalid_o,
    input  wire logic              s_axil_bready_i,
    output logic [1:0]             s_axil_bresp_o,
    input  wire logic              s_axil_arvalid_i,
    output logic                   s_axil_arready_o,
    input  wire logic [ADDR_W-1:0] s_axil_araddr_i,
    output logic                   s_axil_rvalid_o,
    input  wire logic              s_axil_rready_i,
    output logic [31:0]            s_axil_rdata_o,
    output logic [1:0]             s_axil_rresp_o,
    // register port
    output logic                   reg_wr_o,
    output logic [ADDR_W-1:0]      reg_waddr_o,
    output logic [31:0]            reg_wdata_o,
    output logic [3:0]             reg_wstrb_o,
    input  wire logic              reg_wr_err_i,
    output logic                   reg_rd_o,
    output logic [ADDR_W-1:0]      reg_raddr_o,
    input  wire logic [31:0]       reg_rdata_i,
    input  wire logic              reg_rd_err_i
);

  localparam logic [1:0] RespOkay   = 2'b00;
  localparam logic [1:0] RespSlverr = 2'b10;

  initial begin
    if (ADDR_W < 3) begin
      $display("%m: ADDR_W = %0d, must be >= 3", ADDR_W);
      $fatal(1);
    end
  end

  // ---------------------------------------------------------------- write
  logic              aw_held_q, w_held_q;
  logic [ADDR_W-1:0] awaddr_q;
  logic [31:0]       wdata_q;
  logic [3:0]        wstrb_q;
  logic              bvalid_q;
  logic [1:0]        bresp_q;

  assign s_axil_awready_o = !aw_held_q;
  assign s_axil_wready_o  = !w_held_q;
  assign s_axil_bvalid_o  = bvalid_q;
  assign s_axil_bresp_o   = bresp_q;

  assign reg_wr_o    = aw_held_q && w_held_q && !bvalid_q;
  assign reg_waddr_o = awaddr_q;
  assign reg_wdata_o = wdata_q;
  assign reg_wstrb_o = wstrb_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      aw_held_q <= 1'b0;
      w_held_q  <= 1'b0;
      awaddr_q  <= '0;
      wdata_q   <= '0;
      wstrb_q   <= '0;
      bvalid_q  <= 1'b0;
      bresp_q   <= RespOkay;
    end else begin
      if (s_axil_awvalid_i && s_axil_awready_o) begin
        aw_held_q <= 1'b1;
        awaddr_q  <= s_axil_awaddr_i;
      end
      if (s_axil_wvalid_i && s_axil_wready_o) begin
        w_held_q <= 1'b1;
        wdata_q  <= s_axil_wdata_i;
        wstrb_q  <= s_axil_wstrb_i;
      end
      if (reg_wr_o) begin
        aw_held_q <= 1'b0;
        w_held_q  <= 1'b0;
        bvalid_q  <= 1'b1;
        bresp_q   <= reg_wr_err_i ? RespSlverr : RespOkay;
      end else if (bvalid_q && s_axil_bready_i) begin
        bvalid_q <= 1'b0;
      end
    end
  end

  // ---------------------------------------------------------------- read
  logic              ar_held_q;
  logic [ADDR_W-1:0] araddr_q;
  logic              rvalid_q;
  logic [31:0]       rdata_q;
  logic [1:0]        rresp_q;

  assign s_axil_arready_o = !ar_held_q && !rvalid_q;
  assign s_axil_rvalid_o  = rvalid_q;
  assign s_axil_rdata_o   = rdata_q;
  assign s_axil_rresp_o   = rresp_q;
  assign reg_rd_o         = ar_held_q;
  assign reg_raddr_o      = araddr_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ar_held_q <= 1'b0;
      araddr_q  <= '0;
      rvalid_q  <= 1'b0;
      rdata_q   <= '0;
      rresp_q   <= RespOkay;
    end else if (reg_rd_o) begin
      ar_held_q <= 1'b0;
      rvalid_q  <= 1'b1;
      rdata_q   <= reg_rdata_i;
      rresp_q   <= reg_rd_err_i ? RespSlverr : RespOkay;
    end else begin
      if (s_axil_arvalid_i && s_axil_arready_o) begin
        ar_held_q <= 1'b1;
        araddr_q  <= s_axil_araddr_i;
      end
      if (rvalid_q && s_axil_rready_i) rvalid_q <= 1'b0;
    end
  end

endmodule

`resetall
`default_nettype wire
