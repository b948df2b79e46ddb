// Register slice (two-entry skid buffer) on a valid/ready stream: full throughput (one beat per
// cycle), and every output is a register: ready_o, valid_o and data_o depend on no input in the same
// cycle. eie_top puts one on the load stream and one on the output stream so that nothing inside
// the design depends combinationally on a top-level stream input (docs/performance.md: Verilator
// evaluates the logic that does on every evaluation, i.e. on both clock edges under cocotb).
//
// Timing: a beat taken at edge t (valid_i && ready_o) is offered on valid_o/data_o from t on
// (visible after that edge), one cycle later than without the slice. Beats leave in order; none is
// dropped or duplicated. ready_o is low only while the skid register holds a beat (the output
// register is full and was not taken).
`default_nettype none

module eie_reg_slice #(
    parameter int WIDTH = 8  // data bits, >= 1
) (
    input  wire logic             clk_i,
    input  wire logic             rst_ni,
    // upstream
    input  wire logic             valid_i,
    output logic                  ready_o,
    input  wire logic [WIDTH-1:0] data_i,
    // downstream
    output logic                  valid_o,
    input  wire logic             ready_i,
    output logic      [WIDTH-1:0] data_o,
    // status: the slice holds no beat
    output logic                  empty_o
);

  initial begin
    if (WIDTH < 1) begin
      $display("%m: WIDTH = %0d must be >= 1", WIDTH);
      $fatal(1);
    end
  end

  logic             out_valid_q, skid_valid_q;
  logic [WIDTH-1:0] out_data_q, skid_data_q;
  logic             out_free;

  assign ready_o  = !skid_valid_q;
  assign valid_o  = out_valid_q;
  assign data_o   = out_data_q;
  assign empty_o  = !out_valid_q;              // the skid register is only used behind a full output
  assign out_free = !out_valid_q || ready_i;   // the output register may load at this edge

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_valid_q  <= 1'b0;
      skid_valid_q <= 1'b0;
      out_data_q   <= '0;
      skid_data_q  <= '0;
    end else if (out_free) begin
      if (skid_valid_q) begin                  // ready_o is low: nothing enters this cycle
        out_valid_q  <= 1'b1;
        out_data_q   <= skid_data_q;
        skid_valid_q <= 1'b0;
      end else begin
        out_valid_q <= valid_i;
        if (valid_i) out_data_q <= data_i;
      end
    end else if (valid_i && ready_o) begin     // output held: the new beat waits in the skid
      skid_valid_q <= 1'b1;
      skid_data_q  <= data_i;
    end
  end

endmodule

`resetall
`default_nettype wire
