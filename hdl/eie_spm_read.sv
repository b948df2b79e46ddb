// EIE sparse-matrix read unit: turns column ranges [start, end) into a stream of (v, z) entries.
//
// Memory: one eie_sram_sp of SPM_WORDS x 64 bits. Entry address A is slot A & 7 of word A >> 3,
// entry byte = word[8*slot +: 8] = {z, v} (docs/design-contract.md).
//
// Structure (three decoupled steps, each one per cycle):
//   range queue (RQ_DEPTH entries, default 8) -- the next columns, so the next column's first word
//     is fetched while the current one streams; rng_ready_o = queue not full (registers only). Its
//     depth decouples the pointer-read unit from this unit: with 8 ranges a PE keeps popping columns
//     while a long column streams, which 1-entry-per-PE layers need (docs/pe-contract.md, "Why 8 ranges").
//   segment generator -- walks the head range one 64-bit word at a time; each word of a column is a
//     "segment" (word address, first slot, last slot, column-first, column-last, activation). One
//     segment per cycle, each costs at most one SRAM read: the read is skipped when the word is the
//     one the SRAM output still holds (consecutive columns sharing a word), so the SRAM is read once
//     per distinct word in a row. An empty range (end <= start) is dropped here in one cycle.
//   word buffer (2 entries) + emitter -- one entry per cycle from the head segment. The segment just
//     read (stage s1, data on the SRAM output) is the head itself when the buffer is empty (bypass),
//     otherwise it joins the buffer. The generator runs while buffer + s1 hold < 2 segments, counted
//     from registers only (no combinational path from ent_ready_i to the SRAM or to rng_ready_o).
//
// Timing (no back-pressure):
//   Latency: a range beat at edge E0 gives its first entry beat at edge E0 + 2 at the earliest
//     (E0: into the range queue; E1: its first word read; E2: first entry moves), i.e. when the unit
//     was idle. A column queued behind others starts right after the previous column's last entry.
//   Throughput: one entry per cycle, sustained with no bubble across word boundaries, from one
//     column to the next (whatever slot it starts in, whether or not it shares a word with the
//     previous one) and for back-to-back 1-entry columns, as long as each range beat arrives at
//     least 2 cycles before the entry beat it should follow (a range stream of one beat per cycle
//     always does). Why: every word covered holds >= 1 entry of its column, so a column never
//     needs more reads than entries, and the generator stops only when 2 segments (>= 2 entries)
//     are already buffered.
//   Remaining bubbles: (1) the 2-cycle latency when the range queue runs dry (a late range beat);
//     (2) an empty range reaching this unit costs one generator cycle, visible only when fewer than
//     2 entries are buffered (ptr_read drops empty columns, so none arrive from it); (3) ld_en_i
//     cycles (I/O mode only).
// Padding skip (pad_skip_i, the layer's FLAGS.PAD_SKIP while codebook[0] = 0; beyond the paper, whose
//   PE spends a cycle on every entry, padding included): when the emitter's entry is a padding entry
//   (v = 0) and another entry of the same column follows in the same word (slot < the segment's last
//   slot), both go out as ONE beat: v = the second entry's v, z = z1 + 1 + z2 (<= 31, hence the 5-bit
//   ent_z_o), and the walk continues two slots on. The arithmetic unit computes the same row
//   (x + z1 + 1 + z2 + 1) and skips only the product 0 * a. Pairs never cross a word or a column, so a
//   segment still costs >= 1 beat and the generator's timing is unchanged. With pad_skip_i low every
//   entry is one beat (z < 16). Must be stable while busy_o.
// Dual issue (dual_i, the layer's FLAGS.DUAL; beyond the paper, for a two-lane eie_arith): when the
//   emitter's entry is a real entry (v != 0) and the next entry of the same column in the same word is
//   a real entry with an EVEN z (so their rows differ in parity: one per accumulator lane), both go out
//   as ONE beat: ent_v_o / ent_z_o the first, ent_dual_o high, ent_v2_o the second's v and
//   ent_dz_o = z1 + z2 + 1 (its row offset from the first entry's base), and the walk continues two slots
//   on. Padding pairs and dual pairs form one greedy walk (whichever pair starts at the current slot).
//   Never for a range with rng_single_i (eie_pe: the bias column, which the write-back pass takes one
//   entry per row). Must be stable while busy_o.
// Back-pressure (ent_ready_i low) stops the emitter; no entry is lost or repeated.
// Load port (I/O mode): ld_en_i writes ld_data_i at word ld_addr_i; it takes the SRAM port (no read
//   that cycle) and forgets the word held on the SRAM output. Load only while idle (busy_o low).
`default_nettype none

module eie_spm_read #(
    parameter int ACT_W     = 16,     // bits of the column activation carried with each entry, >= 1
    parameter int PTR_W     = 18,     // bits of an entry address (column range), >= 3 + SPM_AW, <= 31
    parameter int SPM_WORDS = 16384,  // 64-bit words of the sparse-matrix SRAM, >= 2
    parameter int RQ_DEPTH  = 8,      // ranges the range queue holds: a power of two, >= 2
    // derived, do not override
    parameter int SPM_AW    = $clog2(SPM_WORDS)
) (
    input  wire logic              clk_i,
    input  wire logic              rst_ni,
    // column-range stream (from the pointer read unit), end exclusive
    input  wire logic              rng_valid_i,
    output logic                   rng_ready_o,
    input  wire logic [PTR_W-1:0]  rng_start_i,
    input  wire logic [PTR_W-1:0]  rng_end_i,
    input  wire logic [ACT_W-1:0]  rng_act_i,
    input  wire logic              rng_single_i,  // never dual-issue this range's entries
    input  wire logic              pad_skip_i,    // padding skip (above), stable while busy_o
    input  wire logic              dual_i,        // dual issue (above), stable while busy_o
    // entry stream (to the arithmetic unit)
    output logic                   ent_valid_o,
    input  wire logic              ent_ready_i,
    output logic [3:0]             ent_v_o,
    output logic [4:0]             ent_z_o,       // zeros before the entry: < 16, or <= 31 skipping
    output logic                   ent_first_o,
    output logic                   ent_last_o,
    output logic [ACT_W-1:0]       ent_act_o,
    output logic                   ent_dual_o,    // a second entry of the column rides this beat
    output logic [3:0]             ent_v2_o,      // its v
    output logic [5:0]             ent_dz_o,      // z + z2 + 1
    // status
    output logic                   busy_o,
    // load port (I/O mode)
    input  wire logic              ld_en_i,
    input  wire logic [SPM_AW-1:0] ld_addr_i,
    input  wire logic [63:0]       ld_data_i
);

  localparam int WORD_W = PTR_W - 3;           // bits of a word address taken from an entry address
  localparam int RQ_DW  = 2 * PTR_W + ACT_W + 1;  // range queue entry (with the single mark)
  localparam int RQ_AW  = $clog2(RQ_DEPTH);     // range queue pointer bits
  localparam int RQ_CW  = RQ_AW + 1;            // range queue count bits (0..RQ_DEPTH)
  localparam int SEG_DW = 3 + 3 + 1 + 1 + 1 + ACT_W;  // segment info: fslot, lslot, cfirst, clast, single, act
  localparam int WB_DW  = 64 + SEG_DW;          // word buffer entry

  initial begin
    if (ACT_W < 1) begin
      $display("%m: ACT_W = %0d, must be >= 1", ACT_W);
      $fatal(1);
    end
    if (SPM_WORDS < 2) begin
      $display("%m: SPM_WORDS = %0d, must be >= 2", SPM_WORDS);
      $fatal(1);
    end
    if (PTR_W > 31 || PTR_W < SPM_AW + 3) begin
      $display("%m: PTR_W = %0d, must be in %0d..31 (address all 8*SPM_WORDS entries)",
               PTR_W, SPM_AW + 3);
      $fatal(1);
    end
    if (RQ_DEPTH < 2 || (RQ_DEPTH & (RQ_DEPTH - 1)) != 0) begin
      $display("%m: RQ_DEPTH = %0d, must be a power of two >= 2", RQ_DEPTH);
      $fatal(1);
    end
    if (SPM_AW != $clog2(SPM_WORDS)) begin
      $display("%m: SPM_AW is derived from SPM_WORDS, do not override it");
      $fatal(1);
    end
  end

  // ---------------------------------------------------------------- range queue (RQ_DEPTH entries)
  // A ring of RQ_DEPTH entries; the pointers wrap by overflow (RQ_DEPTH a power of two). The storage
  // has no reset (synthesis may map it to LUT RAM, as eie_act_queue's); the head fields are 0 while
  // the queue is empty, so they are never X.
  logic [RQ_DW-1:0] rq_q [RQ_DEPTH];
  logic [RQ_AW-1:0] rq_wr_q, rq_rd_q;
  logic [RQ_CW-1:0] rq_cnt_q, rq_cnt_d;
  logic             rq_push, rq_pop;
  logic [PTR_W-1:0] h_start, h_end;
  logic [ACT_W-1:0] h_act;
  logic             h_single;
  logic             h_valid;

  assign rng_ready_o = (rq_cnt_q != RQ_CW'(RQ_DEPTH));
  assign rq_push     = rng_valid_i && rng_ready_o;
  assign h_valid     = (rq_cnt_q != '0);
  assign {h_start, h_end, h_single, h_act} = h_valid ? rq_q[rq_rd_q] : '0;

  always_comb begin
    rq_cnt_d = rq_cnt_q;
    if (rq_push && !rq_pop) rq_cnt_d = rq_cnt_q + RQ_CW'(1);
    else if (!rq_push && rq_pop) rq_cnt_d = rq_cnt_q - RQ_CW'(1);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rq_cnt_q <= '0;
      rq_wr_q  <= '0;
      rq_rd_q  <= '0;
    end else begin
      rq_cnt_q <= rq_cnt_d;
      if (rq_push) rq_wr_q <= rq_wr_q + RQ_AW'(1);
      if (rq_pop) rq_rd_q <= rq_rd_q + RQ_AW'(1);
    end
  end

  // Storage without reset: only the written entry changes.
  always_ff @(posedge clk_i) begin
    if (rq_push) rq_q[rq_wr_q] <= {rng_start_i, rng_end_i, rng_single_i, rng_act_i};
  end

  // ---------------------------------------------------------------- segment generator
  logic              started_q;      // the head range has produced segments; cur_q is its next address
  logic [PTR_W-1:0]  cur_q;
  logic [PTR_W-1:0]  addr, last_addr;
  logic [WORD_W-1:0] word;
  logic              h_empty, last_seg, credit, gen, drop, reuse, rd_en;
  logic [WORD_W-1:0] held_word_q;    // word on the SRAM output (valid when held_ok_q)
  logic              held_ok_q;
  logic              s1_valid_q;
  logic [SEG_DW-1:0] s1_seg_q;
  logic [1:0]        wb_cnt_q, wb_cnt_d;

  assign addr      = started_q ? cur_q : h_start;
  assign last_addr = h_end - PTR_W'(1);
  assign word      = addr[PTR_W-1:3];
  assign h_empty   = !started_q && (h_end <= h_start);
  assign last_seg  = (last_addr[PTR_W-1:3] == word);
  // Buffer + s1 hold fewer than 2 segments (counted without this cycle's pop).
  assign credit    = (wb_cnt_q == 2'd0) || (wb_cnt_q == 2'd1 && !s1_valid_q);
  assign gen       = h_valid && !h_empty && credit && !ld_en_i;
  assign drop      = h_valid && h_empty && !ld_en_i;
  assign rq_pop    = drop || (gen && last_seg);
  assign reuse     = held_ok_q && (held_word_q == word);
  assign rd_en     = gen && !reuse;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      started_q   <= 1'b0;
      cur_q       <= '0;
      held_word_q <= '0;
      held_ok_q   <= 1'b0;
      s1_valid_q  <= 1'b0;
      s1_seg_q    <= '0;
    end else begin
      if (rq_pop) begin
        started_q <= 1'b0;
      end else if (gen) begin
        started_q <= 1'b1;
        cur_q     <= {word + WORD_W'(1), 3'b000};
      end
      if (ld_en_i) begin
        held_ok_q <= 1'b0;
      end else if (rd_en) begin
        held_ok_q   <= 1'b1;
        held_word_q <= word;
      end
      s1_valid_q <= gen;
      if (gen) begin
        s1_seg_q <= {addr[2:0], last_seg ? last_addr[2:0] : 3'd7, !started_q, last_seg, h_single, h_act};
      end
    end
  end

  // ---------------------------------------------------------------- SRAM
  logic [63:0] spm_rdata;
  logic        spm_en;
  logic [SPM_AW-1:0] spm_addr;

  assign spm_en   = ld_en_i || rd_en;
  assign spm_addr = ld_en_i ? ld_addr_i : SPM_AW'(word);

  eie_sram_sp #(
      .DEPTH(SPM_WORDS),
      .WIDTH(64)
  ) u_spm (
      .clk_i  (clk_i),
      .rst_ni (rst_ni),
      .en_i   (spm_en),
      .we_i   (ld_en_i),
      .addr_i (spm_addr),
      .wdata_i(ld_data_i),
      .rdata_o(spm_rdata)
  );

  // ---------------------------------------------------------------- word buffer + emitter
  // Timing (FPGA): the SRAM's read data (no output register) reaches the emitter in the same cycle.
  // Its decisions (segment done, pair, the buffer's next count and pointers, the next slot) take two
  // bits of it, ent_zero ("the entry is a padding entry") and ent_dl ("it can be dual-issued with the
  // next"), selected from per-slot flags of the SRAM word and of the buffer head's word; everything else they use (slot comparisons, the next
  // count and pointers for either outcome) comes from registers only. The word buffer's write enable
  // is s1_valid_q (a register), not "s1 joins the buffer" (which depends on the data): when s1 holds
  // the head and finishes, the write lands in a free entry that nothing reads, and wb_wr_q does not
  // move. Only the entry's fields (v, z, last) go through the byte selection, to the outputs.
  // The same cycles as the direct form (docs/synthesis.md, "Fmax back").
  logic [WB_DW-1:0] wb_q [2];
  logic             wb_wr_q, wb_rd_q;
  logic             head_in_wb;
  logic [63:0]      wb_word, hd_word; // the buffer head's word, the head segment's word
  logic [SEG_DW-1:0] wb_seg;
  logic [2:0]       hd_fslot, hd_lslot;
  logic             hd_cfirst, hd_clast, hd_single;
  logic [ACT_W-1:0] hd_act;
  logic             mid_q;            // inside the head segment; slot_q is its next slot
  logic [2:0]       slot_q, slot, slot_nx, slot_nx2;
  logic [7:0]       ent_byte, nxt_byte;
  logic [7:0]       sp_zf, wb_zf;     // per slot: the word's entry there has v = 0
  logic [7:0]       sp_df, wb_df;     // per slot: a real entry followed by a real entry with even z
  logic             ent_zero;         // the entry is a padding entry (v = 0)
  logic             ent_dl;           // the entry can be dual-issued with the next one (data)
  logic             link;             // the entry goes out with the next one (either kind)
  logic             dual_ok;          // dual issue allowed for the head segment (registers)
  logic             at_last, pre_last;  // slot is the segment's last slot / the one before it
  logic             pair;             // a padding entry and the next one go out as one beat
  logic             ent_fire, seg_end, seg_done;
  logic [1:0]       cnt_go, cnt_done; // wb_cnt_d when the head segment goes on / is done
  logic             wr_go, wr_done;   // wb_wr_q's next value, the same two cases

  assign head_in_wb = (wb_cnt_q != 2'd0);
  assign {wb_word, wb_seg} = wb_q[wb_rd_q];
  assign {hd_fslot, hd_lslot, hd_cfirst, hd_clast, hd_single, hd_act} = head_in_wb ? wb_seg : s1_seg_q;

  always_comb begin
    for (int k = 0; k < 8; k++) begin
      sp_zf[k] = (spm_rdata[8*k +: 4] == 4'd0);
      wb_zf[k] = (wb_word[8*k +: 4] == 4'd0);
    end
    for (int k = 0; k < 7; k++) begin
      sp_df[k] = (spm_rdata[8*k +: 4] != 4'd0) && (spm_rdata[8*k+8 +: 4] != 4'd0) && !spm_rdata[8*k+12];
      wb_df[k] = (wb_word[8*k +: 4] != 4'd0) && (wb_word[8*k+8 +: 4] != 4'd0) && !wb_word[8*k+12];
    end
    sp_df[7] = 1'b0;
    wb_df[7] = 1'b0;
  end

  assign slot        = mid_q ? slot_q : hd_fslot;
  assign slot_nx     = slot + 3'd1;
  assign slot_nx2    = slot + 3'd2;
  assign hd_word     = head_in_wb ? wb_word : spm_rdata;
  assign ent_byte    = hd_word[{slot, 3'b000} +: 8];
  assign nxt_byte    = hd_word[{slot_nx, 3'b000} +: 8];
  assign ent_zero    = head_in_wb ? wb_zf[slot] : sp_zf[slot];
  assign at_last     = (slot == hd_lslot);
  assign pre_last    = (slot_nx == hd_lslot);
  assign ent_dl      = head_in_wb ? wb_df[slot] : sp_df[slot];
  assign dual_ok     = dual_i && !hd_single;
  assign link        = (pad_skip_i && ent_zero) || (dual_ok && ent_dl);
  assign pair        = pad_skip_i && ent_zero && !at_last;
  // = (slot_end == hd_lslot) with slot_end = (link && !at_last) ? slot_nx : slot
  assign seg_end     = at_last || (link && pre_last);
  assign ent_valid_o = head_in_wb || s1_valid_q;
  assign ent_v_o     = pair ? nxt_byte[3:0] : ent_byte[3:0];
  assign ent_z_o     = pair ? 5'(ent_byte[7:4]) + 5'(nxt_byte[7:4]) + 5'd1 : 5'(ent_byte[7:4]);
  assign ent_dual_o  = dual_ok && ent_dl && !at_last;
  assign ent_v2_o    = nxt_byte[3:0];
  assign ent_dz_o    = 6'(ent_byte[7:4]) + 6'(nxt_byte[7:4]) + 6'd1;
  assign ent_first_o = hd_cfirst && !mid_q;
  assign ent_last_o  = hd_clast && seg_end;
  assign ent_act_o   = hd_act;
  assign ent_fire    = ent_valid_o && ent_ready_i;
  assign seg_done    = ent_fire && seg_end;

  // The buffer's next count and pointers, for either value of seg_done. Going on: s1 joins the
  // buffer. Done: the buffer's head leaves it and s1 joins; or s1 was the head and leaves.
  assign cnt_go   = wb_cnt_q + 2'(s1_valid_q);
  assign cnt_done = head_in_wb ? wb_cnt_q - 2'd1 + 2'(s1_valid_q) : wb_cnt_q;
  assign wr_go    = wb_wr_q ^ s1_valid_q;
  assign wr_done  = wb_wr_q ^ (s1_valid_q && head_in_wb);
  assign wb_cnt_d = seg_done ? cnt_done : cnt_go;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wb_cnt_q <= 2'd0;
      wb_wr_q  <= 1'b0;
      wb_rd_q  <= 1'b0;
      mid_q    <= 1'b0;
      slot_q   <= 3'd0;
    end else begin
      wb_cnt_q <= wb_cnt_d;
      wb_wr_q  <= seg_done ? wr_done : wr_go;
      wb_rd_q  <= wb_rd_q ^ (seg_done && head_in_wb);
      if (ent_fire) begin
        mid_q  <= !seg_end;
        slot_q <= (link && !at_last) ? slot_nx2 : slot_nx;
      end
    end
  end

  // Two words of flops, reset so the entry outputs are never X while idle. Written whenever s1
  // holds a segment (above): the buffer holds at most 1 segment then (credit), so entry wb_wr_q is
  // free.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wb_q[0] <= '0;
      wb_q[1] <= '0;
    end else if (s1_valid_q) begin
      wb_q[wb_wr_q] <= {spm_rdata, s1_seg_q};
    end
  end

  assign busy_o = h_valid || s1_valid_q || head_in_wb;

endmodule

`resetall
`default_nettype wire
