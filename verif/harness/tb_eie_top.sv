// Pure-simulator harness of eie_top (no Python while it runs): the speed reference of
// `make bench-sim` and a second, independent driver of the top (docs/performance.md).
//
// Reads, from the working folder (written by verif/harness/harness.py):
//   eie_bd_counts.hex   4*NUM_PE words: the number of words of memory m of PE k at 4*k+m
//                       (m: 0 sparse matrix, 1 even pointers, 2 odd pointers, 3 source activations)
//   eie_bd_mems.hex     4 words: the memory select (eie_pe bd_mem_i, the Mem* codes of
//                       hdl/eie_regs.rdl, written from verif/regmap.py) of each m
//   eie_bd_<4*k+m+1>.hex that memory's image (hex, one word per line), loaded in bulk through the
//                       PEs' simulation-only back door (eie_top's g_pe[k].bd_*_q registers, eie_pe's
//                       bd_* ports), as the cocotb BFM does
//   harness_cmds.txt    the host program, one command per line (decimal opcode, hex operands):
//                         1 <addr> <data>  AXI4-Lite write (response must be OKAY)
//                         2 <addr>         AXI4-Lite read; prints "HARNESS read <addr> <data>"
//                         3                wait for ld_ready_o, then back-door load every PE
//                         4 <addr> <data>  the START write: counts cycles from the write until
//                                          busy_o falls, with out_ready_i high, and writes every
//                                          output beat to harness_out.txt ("<idx> <data>", hex)
// Prints "HARNESS start" / "HARNESS end cycles=<n>" (flushed, so a caller can time the compute
// phase by wall clock), then "HARNESS done" and finishes; any error ends with $fatal.
// Plusarg +max_cycles=<n> (default 10,000,000) bounds the run.
`timescale 1ns / 1ps
`default_nettype none

module tb_eie_top #(
    parameter int NUM_PE     = 4,   // as eie_top
    parameter int FIFO_DEPTH = 8,   // as eie_top
    parameter int MAX_LAYERS = 8    // as eie_top
) ();

  logic        clk = 1'b0;
  logic        rst_n = 1'b0;
  logic        awvalid = 1'b0, wvalid = 1'b0, bready = 1'b0, arvalid = 1'b0, rready = 1'b0;
  logic [11:0] awaddr = '0, araddr = '0;
  logic [31:0] wdata = '0;
  logic        awready, wready, bvalid, arready, rvalid;
  logic [1:0]  bresp, rresp;
  logic [31:0] rdata;
  logic        ld_ready, out_valid, out_last, busy, done, error;
  logic [14:0] out_idx;
  logic [15:0] out_data;
  logic        out_ready = 1'b0;

  always #5 clk = ~clk;

  eie_top #(
    .NUM_PE     (NUM_PE),
    .FIFO_DEPTH (FIFO_DEPTH),
    .MAX_LAYERS (MAX_LAYERS)
  ) dut (
    .clk_i            (clk),
    .rst_ni           (rst_n),
    .s_axil_awvalid_i (awvalid),
    .s_axil_awready_o (awready),
    .s_axil_awaddr_i  (awaddr),
    .s_axil_wvalid_i  (wvalid),
    .s_axil_wready_o  (wready),
    .s_axil_wdata_i   (wdata),
    .s_axil_wstrb_i   (4'hF),
    .s_axil_bvalid_o  (bvalid),
    .s_axil_bready_i  (bready),
    .s_axil_bresp_o   (bresp),
    .s_axil_arvalid_i (arvalid),
    .s_axil_arready_o (arready),
    .s_axil_araddr_i  (araddr),
    .s_axil_rvalid_o  (rvalid),
    .s_axil_rready_i  (rready),
    .s_axil_rdata_o   (rdata),
    .s_axil_rresp_o   (rresp),
    .ld_valid_i       (1'b0),
    .ld_ready_o       (ld_ready),
    .ld_pe_i          (16'd0),
    .ld_mem_i         (3'd0),
    .ld_addr_i        (20'd0),
    .ld_data_i        (64'd0),
    .out_valid_o      (out_valid),
    .out_ready_i      (out_ready),
    .out_idx_o        (out_idx),
    .out_data_o       (out_data),
    .out_last_o       (out_last),
    .busy_o           (busy),
    .done_o           (done),
    .error_o          (error)
  );

  // ------------------------------------------------------------------ back door (bulk load)
  // One memory per cycle into every PE's request registers (eie_top g_pe[k].bd_*_q, written at a
  // falling edge); the PE reads the file at the second rising edge after (verif/backdoor.py).
  int counts [4*NUM_PE];
  int load_mem = -1;    // memory m (0..3, order of the file list above) being requested; -1: none
  logic [7:0] mem_sel [4];   // eie_bd_mems.hex

  for (genvar k = 0; k < NUM_PE; k++) begin : g_ld
    localparam int Base = 4 * k;
    always @(load_mem) begin
      if (load_mem >= 0) begin
        dut.g_pe[k].bd_mem_q   = mem_sel[load_mem][2:0];
        dut.g_pe[k].bd_words_q = counts[Base + load_mem];
        dut.g_pe[k].bd_id_q    = Base + load_mem + 1;
      end
    end
  end

  // ------------------------------------------------------------------ AXI4-Lite master
  // Drives at the falling edge and samples just after it (blocking assignments, no race with the
  // DUT's flops on either simulator): a handshake seen there happens at the next rising edge.
  task automatic axil_write(input logic [11:0] addr, input logic [31:0] data);
    logic aw_hs, w_hs, aw_done, w_done, b_hs;
    logic [1:0] resp;
    @(negedge clk);
    awaddr  = addr;
    wdata   = data;
    awvalid = 1'b1;
    wvalid  = 1'b1;
    aw_done = 1'b0;
    w_done  = 1'b0;
    while (!(aw_done && w_done)) begin
      #1;
      aw_hs = awvalid && awready;
      w_hs  = wvalid && wready;
      @(negedge clk);
      if (aw_hs) begin
        awvalid = 1'b0;
        aw_done = 1'b1;
      end
      if (w_hs) begin
        wvalid = 1'b0;
        w_done = 1'b1;
      end
    end
    bready = 1'b1;
    do begin
      #1;
      b_hs = bvalid;
      resp = bresp;
      @(negedge clk);
    end while (!b_hs);
    bready = 1'b0;
    if (resp != 2'b00) begin
      $display("HARNESS error: write %h = %h answered %0d", addr, data, resp);
      $fatal(1);
    end
  endtask

  task automatic axil_read(input logic [11:0] addr, output logic [31:0] data);
    logic ar_hs, r_hs;
    logic [1:0] resp;
    @(negedge clk);
    araddr  = addr;
    arvalid = 1'b1;
    do begin
      #1;
      ar_hs = arready;
      @(negedge clk);
    end while (!ar_hs);
    arvalid = 1'b0;
    rready  = 1'b1;
    do begin
      #1;
      r_hs = rvalid;
      data = rdata;
      resp = rresp;
      @(negedge clk);
    end while (!r_hs);
    rready = 1'b0;
    if (resp != 2'b00) begin
      $display("HARNESS error: read %h answered %0d", addr, resp);
      $fatal(1);
    end
  endtask

  // ------------------------------------------------------------------ output stream
  int out_fd;
  logic counting = 1'b0;
  longint cycles = 0;
  always @(posedge clk) begin
    if (counting) cycles <= cycles + 1;
    if (out_valid && out_ready) $fdisplay(out_fd, "%h %h", out_idx, out_data);
  end

  // ------------------------------------------------------------------ command interpreter
  int fd, op, n;
  logic [31:0] a, d;
  longint max_cycles;

  initial begin
    if (!$value$plusargs("max_cycles=%d", max_cycles)) max_cycles = 10_000_000;
    $readmemh("eie_bd_counts.hex", counts);
    $readmemh("eie_bd_mems.hex", mem_sel);
    out_fd = $fopen("harness_out.txt", "w");
    fd = $fopen("harness_cmds.txt", "r");
    if (fd == 0 || out_fd == 0) begin
      $display("HARNESS error: cannot open harness_cmds.txt / harness_out.txt");
      $fatal(1);
    end
    repeat (3) @(negedge clk);
    rst_n = 1'b1;
    n = $fscanf(fd, "%d", op);
    while (n == 1) begin
      case (op)
        1: begin
          n = $fscanf(fd, "%h %h", a, d);
          axil_write(a[11:0], d);
        end
        2: begin
          n = $fscanf(fd, "%h", a);
          axil_read(a[11:0], d);
          $display("HARNESS read %h %h", a, d);
        end
        3: begin
          do @(negedge clk); while (!ld_ready);
          for (int m = 0; m < 4; m++) begin
            load_mem = m;
            @(negedge clk);
          end
          load_mem = -1;
          repeat (3) @(negedge clk);
        end
        4: begin
          n = $fscanf(fd, "%h %h", a, d);
          out_ready = 1'b1;
          $display("HARNESS start");
          $fflush();
          counting = 1'b1;
          axil_write(a[11:0], d);
          while (busy && cycles < max_cycles) @(negedge clk);
          counting = 1'b0;
          if (busy) begin
            $display("HARNESS error: still busy after %0d cycles", cycles);
            $fatal(1);
          end
          $display("HARNESS end cycles=%0d", cycles);
          $fflush();
          out_ready = 1'b0;
        end
        default: begin
          $display("HARNESS error: unknown command %0d in harness_cmds.txt", op);
          $fatal(1);
        end
      endcase
      n = $fscanf(fd, "%d", op);
    end
    $fclose(fd);
    $fclose(out_fd);
    $display("HARNESS done error=%0d", error);
    $finish;
  end

endmodule

`resetall
`default_nettype wire
