// EIE PE front end: eie_ptr_read -> eie_spm_read, column stream in, (v, z) entry stream out.
//
// Pure wiring of the two units (each stands and is verified alone); it exists to measure and test
// the two together. Timing (docs/pe-contract.md, "Front-end timing"): a column beat at edge E0 gives
// its first entry beat at E0 + 4 at the earliest (2 in ptr_read, 2 in spm_read). Every column, empty
// or not, takes one pointer-read cycle, so the entry stream runs at one entry per cycle as long as the
// columns in flight carry at least one entry per column on average; an empty column is hidden
// behind the entries of the columns buffered before it (up to 3 ranges in ptr_read, 2 in spm_read,
// 2 words in flight).
`default_nettype none

module eie_pe_frontend #(
    parameter int IDX_W     = 15,     // bits of the column index j and of ptr_base_i
    parameter int ACT_W     = 16,     // bits of the activation a_j
    parameter int PTR_W     = 18,     // bits of a pointer (absolute entry address)
    parameter int PTR_DEPTH = 32768,  // pointers per PE (two banks of PTR_DEPTH/2)
    parameter int SPM_WORDS = 16384,  // 64-bit words of the sparse-matrix memory
    parameter int SINGLE_MSB = 0,     // 1: a column whose activation MSB is set is never dual-issued
                                      //   (eie_pe marks the bias column so)
    // derived, do not override
    parameter int BANK_AW   = $clog2(PTR_DEPTH / 2),
    parameter int SPM_AW    = $clog2(SPM_WORDS)
) (
    input  wire logic               clk_i,
    input  wire logic               rst_ni,
    // column stream
    input  wire logic               col_valid_i,
    output logic                    col_ready_o,
    input  wire logic [IDX_W-1:0]   col_idx_i,
    input  wire logic [ACT_W-1:0]   col_act_i,
    input  wire logic [IDX_W-1:0]   ptr_base_i,
    input  wire logic               pad_skip_i,   // padding skip (eie_spm_read), stable while busy
    input  wire logic               dual_i,       // dual issue (eie_spm_read), stable while busy
    // entry stream
    output logic                    ent_valid_o,
    input  wire logic               ent_ready_i,
    output logic [3:0]              ent_v_o,
    output logic [4:0]              ent_z_o,
    output logic                    ent_first_o,
    output logic                    ent_last_o,
    output logic [ACT_W-1:0]        ent_act_o,
    output logic                    ent_dual_o,
    output logic [3:0]              ent_v2_o,
    output logic [5:0]              ent_dz_o,
    // status
    output logic                    empty_col_o,
    output logic                    busy_o,
    input  wire logic               clear_i,
    output logic                    err_range_o,
    // load ports (I/O mode, while idle)
    input  wire logic               ptr_ld_en_i,
    input  wire logic               ptr_ld_bank_i,
    input  wire logic [BANK_AW-1:0] ptr_ld_addr_i,
    input  wire logic [PTR_W-1:0]   ptr_ld_data_i,
    input  wire logic               spm_ld_en_i,
    input  wire logic [SPM_AW-1:0]  spm_ld_addr_i,
    input  wire logic [63:0]        spm_ld_data_i
);

  initial begin
    if (BANK_AW != $clog2(PTR_DEPTH / 2) || SPM_AW != $clog2(SPM_WORDS)) begin
      $display("%m: BANK_AW and SPM_AW are derived, do not override them");
      $fatal(1);
    end
  end

  logic             rng_valid, rng_ready;
  logic [PTR_W-1:0] rng_start, rng_end;
  logic [ACT_W-1:0] rng_act;
  logic             ptr_busy, spm_busy;

  eie_ptr_read #(
      .IDX_W    (IDX_W),
      .ACT_W    (ACT_W),
      .PTR_W    (PTR_W),
      .PTR_DEPTH(PTR_DEPTH),
      .SPM_WORDS(SPM_WORDS)
  ) u_ptr_read (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .col_valid_i(col_valid_i),
      .col_ready_o(col_ready_o),
      .col_idx_i  (col_idx_i),
      .col_act_i  (col_act_i),
      .ptr_base_i (ptr_base_i),
      .rng_valid_o(rng_valid),
      .rng_ready_i(rng_ready),
      .rng_start_o(rng_start),
      .rng_end_o  (rng_end),
      .rng_act_o  (rng_act),
      .empty_col_o(empty_col_o),
      .busy_o     (ptr_busy),
      .clear_i    (clear_i),
      .err_range_o(err_range_o),
      .ld_en_i    (ptr_ld_en_i),
      .ld_bank_i  (ptr_ld_bank_i),
      .ld_addr_i  (ptr_ld_addr_i),
      .ld_data_i  (ptr_ld_data_i)
  );

  eie_spm_read #(
      .ACT_W    (ACT_W),
      .PTR_W    (PTR_W),
      .SPM_WORDS(SPM_WORDS)
  ) u_spm_read (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .rng_valid_i(rng_valid),
      .rng_ready_o(rng_ready),
      .rng_start_i(rng_start),
      .rng_end_i  (rng_end),
      .rng_act_i  (rng_act),
      .rng_single_i((SINGLE_MSB != 0) && rng_act[ACT_W-1]),
      .pad_skip_i (pad_skip_i),
      .dual_i     (dual_i),
      .ent_valid_o(ent_valid_o),
      .ent_ready_i(ent_ready_i),
      .ent_v_o    (ent_v_o),
      .ent_z_o    (ent_z_o),
      .ent_first_o(ent_first_o),
      .ent_last_o (ent_last_o),
      .ent_act_o  (ent_act_o),
      .ent_dual_o (ent_dual_o),
      .ent_v2_o   (ent_v2_o),
      .ent_dz_o   (ent_dz_o),
      .busy_o     (spm_busy),
      .ld_en_i    (spm_ld_en_i),
      .ld_addr_i  (spm_ld_addr_i),
      .ld_data_i  (spm_ld_data_i)
  );

  assign busy_o = ptr_busy || spm_busy;

endmodule

`resetall
`default_nettype wire
