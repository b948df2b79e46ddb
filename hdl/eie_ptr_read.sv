// EIE pointer read unit: turns a column (j, a_j) into the range [p[j], p[j+1]) of its entries.
//
// Pointers live in two single-port banks (eie_sram_sp): even global pointer indices in one, odd in
// the other (docs/design-contract.md: index g in bank g & 1 at address g >> 1). For a column j the
// unit reads g = ptr_base + j and g + 1 in ONE access cycle, one from each bank:
//   g even: start = even[g >> 1],  end = odd[g >> 1]
//   g odd:  start = odd[g >> 1],   end = even[(g >> 1) + 1]
//
// Pipeline (one column per cycle sustained while the range consumer is ready):
//   edge E0: column beat accepted, both banks read (stage 0 = the accept cycle)
//   E0..E1:  stage 1 sees both pointers; an empty column (start == end) is dropped and counted, a bad
//            one (see errors) is dropped and flagged, any other is written into the output buffer
//   E1..E2:  rng_valid_o high; the range beat moves at E2 at the earliest.
// Latency: 2 cycles from a column beat to its range beat. Output buffer: 3 entries (the one on the
// output, the one in stage 1, the one being read), so col_ready_o depends on registers only (no
// combinational path from rng_ready_i to col_ready_o) and still sustains one column per cycle; under
// back-pressure at most 3 columns are held, none lost or duplicated. An empty or bad column costs one
// column slot (one cycle) and produces no range beat.
//
// empty_col_o: one-cycle pulse per dropped empty column, 2 cycles after its column beat.
// err_range_o: sticky (until reset or clear_i) when a column's end < start, end > 8*SPM_WORDS, or its
//   pointer indices run past the banks (g + 1 >= PTR_DEPTH). Such a column is dropped (no range
//   beat, no empty pulse). An error in the cycle clear_i is high is kept.
// Load port (I/O mode): ld_en_i writes ld_data_i into bank ld_bank_i (0 even, 1 odd) at ld_addr_i.
//   It takes both banks' ports: col_ready_o is low while ld_en_i is high. Load only while idle
//   (busy_o low), as the pipeline's reads would otherwise see the new pointers.
// ptr_base_i must be stable while busy_o is high or a column is offered.
`default_nettype none

module eie_ptr_read #(
    parameter int IDX_W     = 15,     // bits of the column index j and of ptr_base_i, 1..30
    parameter int ACT_W     = 16,     // bits of the activation a_j, >= 1
    parameter int PTR_W     = 18,     // bits of a pointer (absolute entry address), 4..31
    parameter int PTR_DEPTH = 32768,  // pointers per PE: even, >= 4; two banks of PTR_DEPTH/2
    parameter int SPM_WORDS = 16384,  // 64-bit words of the sparse-matrix memory: range check only
    // derived, do not override
    parameter int BANK_AW   = $clog2(PTR_DEPTH / 2)
) (
    input  wire logic               clk_i,
    input  wire logic               rst_ni,
    // column stream (from the activation queue)
    input  wire logic               col_valid_i,
    output logic                    col_ready_o,
    input  wire logic [IDX_W-1:0]   col_idx_i,
    input  wire logic [ACT_W-1:0]   col_act_i,
    // per layer, stable while busy
    input  wire logic [IDX_W-1:0]   ptr_base_i,
    // column-range stream (to the sparse-matrix read unit), end exclusive
    output logic                    rng_valid_o,
    input  wire logic               rng_ready_i,
    output logic [PTR_W-1:0]        rng_start_o,
    output logic [PTR_W-1:0]        rng_end_o,
    output logic [ACT_W-1:0]        rng_act_o,
    // status
    output logic                    empty_col_o,
    output logic                    busy_o,
    input  wire logic               clear_i,
    output logic                    err_range_o,
    // load port (I/O mode)
    input  wire logic               ld_en_i,
    input  wire logic               ld_bank_i,
    input  wire logic [BANK_AW-1:0] ld_addr_i,
    input  wire logic [PTR_W-1:0]   ld_data_i
);

  localparam int BANK_DEPTH = PTR_DEPTH / 2;
  localparam int OUT_DEPTH  = 3;  // output buffer entries (see header)
  localparam int OUT_DW     = 2 * PTR_W + ACT_W;
  localparam int G_W        = IDX_W + 1;  // ptr_base + j without overflow

  initial begin
    if (IDX_W < 1 || IDX_W > 30) begin
      $display("%m: IDX_W = %0d, must be in 1..30", IDX_W);
      $fatal(1);
    end
    if (ACT_W < 1) begin
      $display("%m: ACT_W = %0d, must be >= 1", ACT_W);
      $fatal(1);
    end
    if (PTR_DEPTH < 4 || PTR_DEPTH % 2 != 0) begin
      $display("%m: PTR_DEPTH = %0d, must be even and >= 4 (two banks of >= 2)", PTR_DEPTH);
      $fatal(1);
    end
    if (SPM_WORDS < 2 || SPM_WORDS > (1 << 27)) begin
      $display("%m: SPM_WORDS = %0d, must be in 2..2^27", SPM_WORDS);
      $fatal(1);
    end
    if (PTR_W < 4 || PTR_W > 31 || (64'd1 << PTR_W) < 64'(SPM_WORDS) * 8) begin
      $display("%m: PTR_W = %0d, must be in 4..31 and address all 8*SPM_WORDS = %0d entries",
               PTR_W, SPM_WORDS * 8);
      $fatal(1);
    end
    if (BANK_AW != $clog2(PTR_DEPTH / 2)) begin
      $display("%m: BANK_AW is derived from PTR_DEPTH, do not override it");
      $fatal(1);
    end
  end

  // ---------------------------------------------------------------- stage 0: accept and read
  logic             col_fire;
  logic [G_W-1:0]   g;             // global index of p[j]
  logic             g_oob;         // g + 1 beyond the banks
  logic [BANK_AW-1:0] even_raddr, odd_raddr;

  logic             s1_valid_q;
  logic             s1_odd_q;      // g was odd: start in the odd bank, end in the even bank
  logic             s1_oob_q;
  logic [ACT_W-1:0] s1_act_q;

  logic [1:0]       ocnt_q, ocnt_d;

  // Room for the column read now, the one in stage 1 and the output head, counting no pop.
  assign col_ready_o = !ld_en_i && ((ocnt_q == 2'd0) || (ocnt_q == 2'd1) ||
                                    (ocnt_q == 2'd2 && !s1_valid_q));
  assign col_fire    = col_valid_i && col_ready_o;

  assign g      = G_W'(ptr_base_i) + G_W'(col_idx_i);
  assign g_oob  = (32'(g) > PTR_DEPTH - 2);
  assign odd_raddr  = BANK_AW'(g >> 1);
  assign even_raddr = BANK_AW'(g >> 1) + BANK_AW'(g[0]);

  logic             even_en, odd_en;
  logic [BANK_AW-1:0] even_addr, odd_addr;
  logic [PTR_W-1:0] even_rdata, odd_rdata;

  always_comb begin
    even_en   = col_fire;
    odd_en    = col_fire;
    even_addr = even_raddr;
    odd_addr  = odd_raddr;
    if (ld_en_i) begin
      even_en   = !ld_bank_i;
      odd_en    = ld_bank_i;
      even_addr = ld_addr_i;
      odd_addr  = ld_addr_i;
    end
  end

  eie_sram_sp #(
      .DEPTH(BANK_DEPTH),
      .WIDTH(PTR_W)
  ) u_even (
      .clk_i  (clk_i),
      .rst_ni (rst_ni),
      .en_i   (even_en),
      .we_i   (ld_en_i),
      .addr_i (even_addr),
      .wdata_i(ld_data_i),
      .rdata_o(even_rdata)
  );

  eie_sram_sp #(
      .DEPTH(BANK_DEPTH),
      .WIDTH(PTR_W)
  ) u_odd (
      .clk_i  (clk_i),
      .rst_ni (rst_ni),
      .en_i   (odd_en),
      .we_i   (ld_en_i),
      .addr_i (odd_addr),
      .wdata_i(ld_data_i),
      .rdata_o(odd_rdata)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s1_odd_q   <= 1'b0;
      s1_oob_q   <= 1'b0;
      s1_act_q   <= '0;
    end else begin
      s1_valid_q <= col_fire;
      if (col_fire) begin
        s1_odd_q <= g[0];
        s1_oob_q <= g_oob;
        s1_act_q <= col_act_i;
      end
    end
  end

  // ---------------------------------------------------------------- stage 1: classify
  logic [PTR_W-1:0] s1_start, s1_end;
  logic             s1_bad, s1_empty, s1_push;

  assign s1_start = s1_odd_q ? odd_rdata : even_rdata;
  assign s1_end   = s1_odd_q ? even_rdata : odd_rdata;
  assign s1_bad   = s1_oob_q || (s1_end < s1_start) || (32'(s1_end) > SPM_WORDS * 8);
  assign s1_empty = !s1_bad && (s1_end == s1_start);
  assign s1_push  = s1_valid_q && !s1_bad && !s1_empty;

  logic empty_q, err_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      empty_q <= 1'b0;
      err_q   <= 1'b0;
    end else begin
      empty_q <= s1_valid_q && s1_empty;
      err_q   <= (err_q && !clear_i) || (s1_valid_q && s1_bad);
    end
  end

  assign empty_col_o = empty_q;
  assign err_range_o = err_q;

  // ---------------------------------------------------------------- output buffer (3 entries)
  logic [OUT_DW-1:0] obuf_q [OUT_DEPTH];
  logic [1:0]        owr_q, ord_q;
  logic              rng_fire;

  function automatic logic [1:0] next_slot(input logic [1:0] slot);
    next_slot = (slot == 2'(OUT_DEPTH - 1)) ? 2'd0 : slot + 2'd1;
  endfunction

  assign rng_valid_o = (ocnt_q != 2'd0);
  assign rng_fire    = rng_valid_o && rng_ready_i;
  assign {rng_start_o, rng_end_o, rng_act_o} = obuf_q[ord_q];

  always_comb begin
    ocnt_d = ocnt_q;
    if (s1_push && !rng_fire) ocnt_d = ocnt_q + 2'd1;
    else if (!s1_push && rng_fire) ocnt_d = ocnt_q - 2'd1;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ocnt_q <= 2'd0;
      owr_q  <= 2'd0;
      ord_q  <= 2'd0;
    end else begin
      ocnt_q <= ocnt_d;
      if (s1_push) owr_q <= next_slot(owr_q);
      if (rng_fire) ord_q <= next_slot(ord_q);
    end
  end

  // A few flops, reset so the range outputs are never X.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int i = 0; i < OUT_DEPTH; i++) obuf_q[i] <= '0;
    end else if (s1_push) begin
      obuf_q[owr_q] <= {s1_start, s1_end, s1_act_q};
    end
  end

  assign busy_o = s1_valid_q || (ocnt_q != 2'd0);

endmodule

`resetall
`default_nettype wire
