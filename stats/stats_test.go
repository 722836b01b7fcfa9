package stats_test

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"pktfwd/internal/fakefwd"
	"pktfwd/stats"
)

// parseFile feeds a captured forwarder output to a parser.
func parseFile(t *testing.T, path string) []stats.Block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p stats.Parser
	var blocks []stats.Block
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if b, ok := p.Line(sc.Text()); ok {
			blocks = append(blocks, b)
		}
	}
	return blocks
}

// The testdata files are the output of the real Semtech forwarders built on
// a simulated concentrator (sx1302_hal 2.1.0 and packet_forwarder 4.0.1),
// run with stat_interval 1 against a live acknowledging server; the SX1302
// run had its counter read fail from 2.5 s on and its temperature at -3.4 °C.
// The expected figures were read off the files by hand.
func TestParser_realSX1302(t *testing.T) {
	blocks := parseFile(t, "testdata/sx1302-lora-net-2.1.0-simhal.txt")
	if len(blocks) != 5 {
		t.Fatalf("got %d blocks, want 5", len(blocks))
	}
	want := stats.Block{
		Time: time.Date(2026, 11, 25, 17, 7, 43, 0, time.UTC), Family: stats.FamilySX1302,
		Has:      stats.FieldReceived | stats.FieldCRC | stats.FieldForwarded | stats.FieldPushSent | stats.FieldPushAck | stats.FieldPull | stats.FieldPullResp | stats.FieldDownlinks | stats.FieldTXErrors | stats.FieldCounter | stats.FieldTemp,
		Received: 2, CRCOK: 100, Forwarded: 2, FwdBytes: 37, PushSent: 2, PushBytes: 474, PushAck: 0,
		PullSent: 1, PullAck: 0, CounterKnown: true, Counter: 1001413, CounterPPS: 0, TempKnown: true, TempC: -3,
	}
	if blocks[0] != want {
		t.Errorf("first block:\n got %+v\nwant %+v", blocks[0], want)
	}
	if b := blocks[1]; b.Counter != 2005469 || b.PushAck != 25 || b.PushSent != 4 || b.Received != 3 {
		t.Errorf("second block: got %+v", b)
	}
	for i, b := range blocks[2:] {
		if b.CounterKnown || b.Has&stats.FieldCounter == 0 {
			t.Errorf("block %d: got counter known=%v (has %b), want the printed unknown", i+2, b.CounterKnown, b.Has)
		}
	}
	var tot stats.Totals
	for _, b := range blocks {
		tot.Add(b)
	}
	wantTot := stats.Totals{Blocks: 5, Received: 9, CRCOK: 9, Forwarded: 9, PushSent: 13, PushAcked: 8, PullSent: 1, PullAcked: 0}
	if tot != wantTot {
		t.Errorf("totals:\n got %+v\nwant %+v", tot, wantTot)
	}
	if got := tot.PushAckPercent(); got != 61.54 {
		t.Errorf("PushAckPercent = %v, want 61.54 (8 of 13)", got)
	}
}

func TestParser_realSX1301(t *testing.T) {
	blocks := parseFile(t, "testdata/sx1301-lora-net-4.0.1-simhal.txt")
	if len(blocks) != 4 {
		t.Fatalf("got %d blocks, want 4", len(blocks))
	}
	b := blocks[0]
	if b.Family != stats.FamilySX1301 || !b.CounterKnown || b.Counter != 772 || b.Has&stats.FieldTemp != 0 || b.Received != 1 || b.PullAck != 100 {
		t.Errorf("first block: got %+v", b)
	}
	var tot stats.Totals
	for _, b := range blocks {
		tot.Add(b)
	}
	wantTot := stats.Totals{Blocks: 4, Received: 5, CRCOK: 5, Forwarded: 5, PushSent: 8, PushAcked: 8, PullSent: 1, PullAcked: 1}
	if tot != wantTot {
		t.Errorf("totals:\n got %+v\nwant %+v", tot, wantTot)
	}
}

// A block stops where a wedged forwarder stops printing; only a complete
// one counts, and the next header starts over.
func TestParser_incompleteBlock(t *testing.T) {
	var p stats.Parser
	lines := []string{
		"##### 2026-11-25 12:00:00 GMT #####", "### [UPSTREAM] ###", "# RF packets received by concentrator: 7",
		"### SX1302 Status ###", // the stall: nothing more of this block
		"", "##### 2026-11-25 12:00:30 GMT #####", "# TX errors: 3", "##### END #####",
		"##### END #####", // a stray END completes nothing
	}
	var got []stats.Block
	for _, l := range lines {
		if b, ok := p.Line(l + "\r\n"); ok {
			got = append(got, b)
		}
	}
	if len(got) != 1 {
		t.Fatalf("got %d blocks, want 1: %+v", len(got), got)
	}
	if b := got[0]; b.Received != 0 || b.Has != stats.FieldTXErrors || b.TXErrors != 3 || b.Family != stats.FamilyUnknown {
		t.Errorf("got %+v, want only TX errors 3 from the second block", b)
	}
}

func TestParser_malformedLines(t *testing.T) {
	var p stats.Parser
	p.Line("##### not a time #####")
	for _, l := range []string{
		"# RF packets received by concentrator: 4294967296", // over %u
		"# RF packets forwarded: 3",                         // the byte count is missing
		"# PUSH_DATA acknowledged: -5.00%",
		"# PULL_DATA sent: 2 (nan% acknowledged)",
		"# TX errors: 1 2",
		"### Concentrator temperature: hot C ###",
		"# SX1302 counter (INST): -1",
	} {
		p.Line(l)
	}
	b, ok := p.Line("##### END #####")
	if !ok {
		t.Fatal("no block")
	}
	if b.Has != 0 || !b.Time.IsZero() || b.CounterKnown {
		t.Errorf("malformed lines were taken: %+v", b)
	}
}

// block makes a fakefwd.StatBlock from fuzzed counters: percentages come
// as hundredths so that they survive %.2f unchanged.
func block(sx1302 bool, n [12]uint32, pct [5]uint16, counterUnknown, tempUnknown bool, temp int8, sec uint32) fakefwd.StatBlock {
	hp := func(v uint16) float64 { return float64(v%10001) / 100 }
	return fakefwd.StatBlock{
		Time: time.Unix(int64(sec), 0).UTC(), SX1302: sx1302,
		Received: n[0], CRCOK: hp(pct[0]), CRCFail: hp(pct[1]), NoCRC: hp(pct[2]),
		Forwarded: n[1], FwdBytes: n[2], PushSent: n[3], PushBytes: n[4], PushAck: hp(pct[3]),
		PullSent: n[5], PullAck: hp(pct[4]), PullResp: n[6], PullBytes: n[7], Downlinks: n[8], DownBytes: n[9],
		TXErrors: n[10], CounterUnknown: counterUnknown, Counter: n[11], CounterPPS: n[11] / 3,
		TempUnknown: tempUnknown, TempC: float64(temp),
	}
}

// same compares what was rendered with what was parsed.
func same(t *testing.T, in fakefwd.StatBlock, out stats.Block) {
	t.Helper()
	eq := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	ok := out.Time.Equal(in.Time) && out.Received == in.Received && eq(out.CRCOK, in.CRCOK) && eq(out.CRCFail, in.CRCFail) && eq(out.NoCRC, in.NoCRC) &&
		out.Forwarded == in.Forwarded && out.FwdBytes == in.FwdBytes && out.PushSent == in.PushSent && out.PushBytes == in.PushBytes && eq(out.PushAck, in.PushAck) &&
		out.PullSent == in.PullSent && eq(out.PullAck, in.PullAck) && out.PullResp == in.PullResp && out.PullBytes == in.PullBytes &&
		out.Downlinks == in.Downlinks && out.DownBytes == in.DownBytes && out.TXErrors == in.TXErrors &&
		out.CounterKnown == !in.CounterUnknown && (in.CounterUnknown || out.Counter == in.Counter)
	if in.SX1302 {
		ok = ok && out.Family == stats.FamilySX1302 && out.TempKnown == !in.TempUnknown && (in.TempUnknown || out.TempC == in.TempC) &&
			(in.CounterUnknown || out.CounterPPS == in.CounterPPS)
	} else {
		ok = ok && out.Family == stats.FamilySX1301 && out.Has&stats.FieldTemp == 0
	}
	if !ok {
		t.Fatalf("round trip changed the block:\n  in %+v\n out %+v", in, out)
	}
}

func parseAll(p *stats.Parser, text string) []stats.Block {
	var out []stats.Block
	for _, l := range strings.Split(text, "\n") {
		if b, ok := p.Line(l); ok {
			out = append(out, b)
		}
	}
	return out
}

// blockLabels are the labels of every line the forwarders print in a
// statistics block, up to and including the colon ("# TX errors:"), or
// the whole line where it has none ("### [UPSTREAM] ###"): both families,
// with and without a counter and a temperature, as fakefwd prints them.
var blockLabels = func() []string {
	var buf bytes.Buffer
	for _, sx1302 := range []bool{true, false} {
		for _, unknown := range []bool{true, false} {
			fakefwd.WriteStatBlock(&buf, block(sx1302, [12]uint32{}, [5]uint16{}, unknown, unknown, 0, 0))
		}
	}
	var labels []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if i := strings.Index(l, ":"); i >= 0 {
			l = l[:i+1]
		}
		if l != "" {
			labels = append(labels, l)
		}
	}
	return labels
}()

// isBlockLine reports whether line would be read as a line of a block: a
// block's header or end, or a line with one of its labels.
func isBlockLine(line string) bool {
	if strings.HasPrefix(line, "#####") {
		return true
	}
	for _, l := range blockLabels {
		if strings.HasPrefix(line, l) {
			return true
		}
	}
	return false
}

// FuzzRoundTrip: a block printed with the forwarders' formats from any
// counters parses back to the same counters, also when another thread's
// lines are printed in the middle of it.
func FuzzRoundTrip(f *testing.F) {
	f.Add(true, uint32(2), uint32(2000278), uint16(10000), uint16(2500), false, false, int8(41), uint32(1795624567), "INFO: [up] PUSH_ACK received in 0 ms")
	f.Add(false, uint32(0), uint32(772), uint16(0), uint16(0), true, true, int8(-7), uint32(0), "")
	f.Add(true, uint32(7), uint32(9), uint16(1), uint16(2), false, false, int8(3), uint32(4), "# JIT queue of another thread: 2 packets")
	f.Add(false, uint32(7), uint32(9), uint16(1), uint16(2), true, false, int8(3), uint32(4), "### [GPS] ###")
	f.Add(true, uint32(7), uint32(9), uint16(1), uint16(2), false, true, int8(3), uint32(4), "#")
	f.Fuzz(func(t *testing.T, sx1302 bool, a, b uint32, p1, p2 uint16, cu, tu bool, temp int8, sec uint32, noise string) {
		n := [12]uint32{a, b, a ^ b, a / 7, b / 3, a % 5, b % 11, a + b, a * 3, b * 5, a >> 3, b}
		in := block(sx1302, n, [5]uint16{p1, p2, p1 ^ p2, p2, p1}, cu, tu, temp, sec)
		var buf bytes.Buffer
		fakefwd.WriteStatBlock(&buf, in)
		text := buf.String()
		if noise = strings.ReplaceAll(noise, "\n", " "); noise != "" && !isBlockLine(noise) {
			// another thread's line in the middle of the block, which may
			// start with # as the block's own lines do
			text = strings.Replace(text, "### [DOWNSTREAM] ###\n", "### [DOWNSTREAM] ###\n"+noise+"\n", 1)
		}
		var p stats.Parser
		got := parseAll(&p, text)
		if len(got) != 1 {
			t.Fatalf("got %d blocks, want 1, from:\n%s", len(got), text)
		}
		same(t, in, got[0])
	})
}

// FuzzParse: whatever came before, a parser reads the next complete block
// exactly as a fresh parser does, and never panics.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/sx1302-lora-net-2.1.0-simhal.txt", "testdata/sx1301-lora-net-4.0.1-simhal.txt"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("##### 2026-11-25 12:00:00 GMT #####\n# TX errors: 1\n##### END"))
	f.Fuzz(func(t *testing.T, garbage []byte) {
		var buf bytes.Buffer
		in := block(true, [12]uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, [5]uint16{9000, 1000, 0, 10000, 5000}, false, false, 40, 1795624567)
		fakefwd.WriteStatBlock(&buf, in)
		var p stats.Parser
		parseAll(&p, string(garbage))
		got := parseAll(&p, "\n"+buf.String())
		if len(got) != 1 {
			t.Fatalf("got %d blocks after the garbage, want 1", len(got))
		}
		same(t, in, got[0])
	})
}

// BenchmarkParse measures the parser on real SX1302 output: one op is one
// block of the capture, its interleaved log lines included.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/sx1302-lora-net-2.1.0-simhal.txt")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var p stats.Parser
	var tot stats.Totals
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for n < b.N {
		for _, l := range lines {
			if blk, ok := p.Line(l); ok {
				tot.Add(blk)
				if n++; n == b.N {
					break
				}
			}
		}
	}
	b.ReportMetric(float64(len(lines))/5, "lines/block")
}
