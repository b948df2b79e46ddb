// Simple dual-port synchronous SRAM model: one write port and one read port, registered read.
//
// The companion of eie_sram_sp for the one memory that needs two accesses per cycle: the PE's
// accumulators, which the arithmetic pipeline reads (stage 2) and writes (stage 4) in every cycle.
// A "1R1W" (two-port, one read + one write) register-file/SRAM macro is a standard compiled memory,
// so this is as realistic as the single-port model. Same rules as eie_sram_sp: read data one cycle
// after the address, held until the next read; no reset on the array; rdata_o is reset so it is
// never X before the first read.
//
// Read and write of the SAME address at the same edge: this model returns the OLD data
// (read-first). Real macros differ here (old data, new data or undefined); the users of this model
// (eie_arith) forward the written value themselves and never depend on the answer, so a macro with
// any collision behaviour can be swapped in.
`default_nettype none

module eie_sram_dp #(
    parameter int DEPTH  = 1024,  // words, >= 2 (any value, not only powers of two)
    parameter int WIDTH  = 32,    // bits per word, >= 1
    // derived, do not override
    parameter int ADDR_W = $clog2(DEPTH)
) (
    input  wire logic              clk_i,
    input  wire logic              rst_ni,
    // write port
    input  wire logic              we_i,     // write wdata_i to waddr_i at this edge
    input  wire logic [ADDR_W-1:0] waddr_i,
    input  wire logic [WIDTH-1:0]  wdata_i,
    // read port
    input  wire logic              re_i,     // read raddr_i at this edge
    input  wire logic [ADDR_W-1:0] raddr_i,
    output logic      [WIDTH-1:0]  rdata_o   // data of the last read, held until the next read
);

  initial begin
    if (DEPTH < 2 || WIDTH < 1) begin
      $display("%m: DEPTH = %0d (>= 2) and WIDTH = %0d (>= 1) out of range", DEPTH, WIDTH);
      $fatal(1);
    end
    if (ADDR_W != $clog2(DEPTH)) begin
      $display("%m: ADDR_W is derived from DEPTH, do not override it");
      $fatal(1);
    end
  end

  logic [WIDTH-1:0] mem_q [DEPTH];

  // Writes beyond DEPTH (non-power-of-two depth) are ignored; reads beyond it return 0.
  always_ff @(posedge clk_i) begin
    if (we_i && (32'(waddr_i) < DEPTH)) mem_q[waddr_i] <= wdata_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rdata_o <= '0;
    end else if (re_i) begin
      rdata_o <= (32'(raddr_i) < DEPTH) ? mem_q[raddr_i] : '0;
    end
  end

endmodule

`resetall
`default_nettype wire
