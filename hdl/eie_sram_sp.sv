// Single-port synchronous SRAM model: one read or write per cycle, read data one cycle later.
//
// Every memory of the PE (pointer banks, sparse-matrix words, activation buffers, accumulators) is
// one of these, so the RTL respects what a real SRAM macro allows (one port, registered read) and a
// synthesis flow can swap in a vendor macro. Read during write returns the old data (read-first).
// No reset on the array (SRAMs have none); rdata_o is reset so it is never X before the first read.
`default_nettype none

module eie_sram_sp #(
    parameter int DEPTH  = 1024,  // words, >= 2
    parameter int WIDTH  = 16,    // bits per word, >= 1
    // derived, do not override
    parameter int ADDR_W = $clog2(DEPTH)
) (
    input  wire logic              clk_i,
    input  wire logic              rst_ni,
    input  wire logic              en_i,     // access this cycle
    input  wire logic              we_i,     // 1: write wdata_i, 0: read into rdata_o
    input  wire logic [ADDR_W-1:0] addr_i,
    input  wire logic [WIDTH-1:0]  wdata_i,
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
    if (en_i && we_i && (32'(addr_i) < DEPTH)) mem_q[addr_i] <= wdata_i;
  end

`ifndef SYNTHESIS
  // Simulation-only bulk back door (docs/performance.md): the bench writes words 0..N-1 as a hex
  // file "eie_bd_<id>.hex" in the simulator's working folder and sends the request through
  // eie_pe's bd_* ports; eie_pe calls bd_load(<id>, N) of the addressed SRAM, which reads the file
  // straight into the array ($readmemh, one call instead of one write per word; N = 0 loads
  // nothing). Only eie_pe calls it (never Python: a hierarchical build hides the PE's insides).
  task automatic bd_load(input int id, input int words);
    string file;
    if (words > DEPTH) begin
      $display("%m: back door of %0d words into a %0d-word memory", words, DEPTH);
      $fatal(1);
    end
    if (words > 0) begin
      file = $sformatf("eie_bd_%0d.hex", id);
      $readmemh(file, mem_q, 0, words - 1);
    end
  endtask
`endif

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rdata_o <= '0;
    end else if (en_i && !we_i) begin
      rdata_o <= (32'(addr_i) < DEPTH) ? mem_q[addr_i] : '0;
    end
  end

endmodule

`resetall
`default_nettype wire
