// Package fakefwd is a simulated lora_pkt_fwd for tests and `pktfwd demo`.
// Like the real builds it reads ./global_conf.json from its working
// directory (SX1301 family: then local_conf.json), resolves
// gateway_conf.server_address once and opens two connected UDP sockets,
// runs ./reset_lgw.sh (SX1302 family on SPI), starts the concentrator,
// then speaks GWMP version 2: PUSH_DATA with simulated uplinks and stat
// reports, each waiting for its PUSH_ACK for push_timeout_ms; PULL_DATA
// every keepalive_interval; PULL_RESP answered by TX_ACK. It prints the
// real log lines and a statistics block of its family every stat_interval
// whose acknowledgement figures come from the datagrams really answered.
// Its stdout is buffered as C stdio does. docs/fake-forwarder.md has the
// details and which real behaviour each part mirrors.
//
// Its behaviour comes from ./fakefwd.mode (read at each start) or
// FAKEFWD_MODE:
//
//	run             start and run until SIGTERM (the default)
//	crash[:CODE]    fail to start the concentrator, exit CODE (1)
//	crash-after:D   run for duration D, then exit 1
//	exit0           start, then exit 0
//	signal:NAME     start, then die by SIGSEGV, SIGKILL or SIGABRT
//	ignore-term     run and ignore SIGTERM
//	flood:N         print N bytes of log lines, then run
//	nonewline:N     print N bytes without a newline, then run
//	grandchild      start a child that sleeps, then exit 1
//	setsid-child:D  start a child in a new session that keeps the terminal
//	                open, run for D, then exit 1
//	slow-start:D    the concentrator takes D to start
//	stall[:D]       D (0) after the start the radio thread hangs holding
//	                the concentrator lock: the next stat block stops where
//	                it reads the chip, PUSH_DATA stops, keepalives go on,
//	                SIGTERM ends only the downstream thread
//	freeze-counter[:D]   the concentrator counter stops moving after D
//	counter-unknown[:D]  the concentrator counter reads unknown after D
//	fetch-fail[:D]  D (0) after the start a fetch fails: exit 1 at once
//	noack           every PUSH_ACK and PULL_ACK is dropped on arrival
//	silent          no radio packet is received
//
// Environment: FAKEFWD_START_DELAY (a duration, as slow-start),
// FAKEFWD_RX_PER_SEC (uplinks per second, 2 by default).
// SIGUSR1 makes a running forwarder die by SIGSEGV; SIGUSR2 makes its
// radio thread hang as in the stall mode.
package fakefwd

import (
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Main runs the simulated forwarder and returns its exit code.
func Main() int {
	out := newOutput()
	defer out.flush()
	mode, arg := readMode()
	if mode == "sleep" {
		time.Sleep(time.Hour)
		return 0
	}
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	}
	out.printf("*** Packet Forwarder (simulated by pktfwd) ***\n")
	out.printf("INFO: found configuration file global_conf.json, parsing it\n")
	cfg, code := readConfig(out)
	if code != 0 {
		return code
	}
	f := &forwarder{cfg: cfg, out: out, mode: mode, exit: make(chan struct{}), cancelled: make(chan struct{}),
		upDone:   make(chan struct{}),
		stallNow: make(chan struct{}, 1), noack: mode == "noack", jit: newJITQueues(!cfg.coreCell)}
	var err error
	if f.upConn, err = dialServer(cfg.server, cfg.portUp, "up"); err == nil {
		f.downConn, err = dialServer(cfg.server, cfg.portDown, "down")
	}
	if err != nil {
		out.printf("%v\n", err)
		return 1
	}
	defer f.upConn.Close()
	defer f.downConn.Close()
	if cfg.spi {
		if err := exec.Command("./reset_lgw.sh", "start").Run(); err != nil {
			out.printf("ERROR: failed to reset SX1302, check your reset_lgw.sh script\n")
			return 1
		}
	}
	if code, done := f.beforeStart(arg); done {
		return code
	}
	f.startConcentrator(arg)
	switch mode {
	case "exit0":
		return 0
	case "signal":
		dieBy(arg) // the Go runtime turns SEGV and ABRT into exit code 2; a shell does not
		return 3
	}
	return f.run(arg)
}

// forwarder is one run of the simulated lora_pkt_fwd: its threads share
// these as the real ones share globals, under the same locks.
type forwarder struct {
	cfg              config
	out              *output
	mode             string
	upConn, downConn *net.UDPConn
	chip             concentrator
	noack            bool
	stallAt          time.Time     // the stall mode's moment (zero: none)
	stallNow         chan struct{} // SIGUSR2: hang at the next fetch
	fetchFailAt      time.Time     // the fetch-fail mode's moment (zero: none)
	exit             chan struct{} // exit_sig: closed once
	exitOnce         sync.Once
	quitSig          bool          // SIGQUIT: no lgw_stop; set before exit closes
	cancelled        chan struct{} // SX1301: main cancelled the other threads
	upDone           chan struct{} // closed when the upstream thread ends
	total            txTotals      // the main thread's running sums
	wg               sync.WaitGroup
	up               upMeas
	dw               dwMeas
	jit              jitQueues
	report           struct {
		mu   sync.Mutex
		text string
	}
}

func (f *forwarder) quit()            { f.exitOnce.Do(func() { close(f.exit) }) }
func (f *forwarder) family1301() bool { return !f.cfg.coreCell }

func (f *forwarder) exiting() bool {
	select {
	case <-f.exit:
		return true
	default:
		return false
	}
}

// beforeStart plays the modes that act before the concentrator starts;
// done means exit with code.
func (f *forwarder) beforeStart(arg string) (code int, done bool) {
	out := f.out
	switch f.mode {
	case "crash":
		time.Sleep(25 * time.Millisecond)
		if f.cfg.spi {
			out.printf("Opening SPI communication interface\n")
		}
		out.printf("ERROR: [main] failed to start the concentrator\n")
		return atoi(arg, 1), true
	case "grandchild", "setsid-child":
		self, _ := os.Executable()
		c := exec.Command(self)
		c.Env = append(os.Environ(), "FAKEFWD_MODE=sleep")
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if f.mode == "setsid-child" { // out of the forwarder's process group
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		}
		c.Start()
		out.printf("INFO: started a %s, pid %d\n", f.mode, c.Process.Pid)
		if f.mode == "grandchild" {
			return 1, true
		}
	case "flood":
		line := strings.Repeat("x", 99) + "\n"
		for n := atoi(arg, 1<<20); n > 0; n -= len(line) {
			io.WriteString(out, line)
		}
	case "nonewline":
		io.WriteString(out, strings.Repeat("y", atoi(arg, 1<<16)))
	}
	return 0, false
}

// startConcentrator is lgw_start: it takes FAKEFWD_START_DELAY (or the
// slow-start mode's time) and prints the started line. No thread runs
// yet, so no datagram leaves during the delay.
func (f *forwarder) startConcentrator(arg string) {
	delay, _ := time.ParseDuration(os.Getenv("FAKEFWD_START_DELAY"))
	if f.mode == "slow-start" {
		delay, _ = time.ParseDuration(arg)
	}
	if f.cfg.spi {
		f.out.printf("Opening SPI communication interface\n")
	}
	time.Sleep(delay)
	rate := 2.0
	if v, err := strconv.ParseFloat(os.Getenv("FAKEFWD_RX_PER_SEC"), 64); err == nil && v >= 0 {
		rate = v
	}
	if f.mode == "silent" {
		rate = 0
	}
	f.chip = concentrator{start: time.Now(), freezeAfter: -1, unknownAfter: -1, channels: f.cfg.channels,
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), tempC: 41}
	if rate > 0 {
		f.chip.rxEvery = time.Duration(float64(time.Second) / rate)
	}
	d, _ := time.ParseDuration(arg)
	switch f.mode {
	case "stall":
		f.stallAt = f.chip.start.Add(d)
	case "freeze-counter":
		f.chip.freezeAfter = d
	case "counter-unknown":
		f.chip.unknownAfter = d
	case "fetch-fail":
		f.fetchFailAt = f.chip.start.Add(d)
	}
	f.out.printf("INFO: [main] concentrator started, packet can now be received\n")
	if f.cfg.coreCell {
		f.out.printf("INFO: concentrator EUI: 0x%016x\n", uint64(0x0016c001f0000001))
	}
}

// run starts the threads and is the main thread: a stat block every
// stat_interval until a signal, then the real exit sequence.
func (f *forwarder) run(arg string) int {
	f.wg.Add(3)
	go f.upstream()
	go f.downstream()
	go f.jitThread()
	if f.family1301() {
		go f.timersync()
	}
	sigs := make(chan os.Signal, 2)
	if f.mode == "ignore-term" {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	}
	crash := make(chan os.Signal, 1)
	signal.Notify(crash, syscall.SIGUSR1) // the demo's way to make it crash
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	woken := make(chan struct{}, 1)
	go f.signals(sigs, woken)
	var deadline <-chan time.Time
	if f.mode == "crash-after" || f.mode == "setsid-child" {
		d, _ := time.ParseDuration(arg)
		deadline = time.After(d)
	}
	timer := time.NewTimer(f.cfg.statEvery)
	for {
		select {
		case <-deadline:
			f.out.printf("ERROR: [main] concentrator stopped unexpectedly\n")
			return 1
		case <-crash:
			f.out.printf("ERROR: [main] concentrator crashed (SIGUSR1 asked for it)\n")
			f.out.flush()
			dieBy("SEGV")
			return 3
		case <-usr2:
			select {
			case f.stallNow <- struct{}{}:
			default:
			}
			continue
		case <-woken: // the signal interrupts the wait: one more block, for the partial interval
		case <-timer.C:
		}
		f.statBlock()
		if f.exiting() {
			break
		}
		timer.Reset(f.cfg.statEvery)
	}
	return f.shutdown()
}

// signals is the signal handler: it sets exit_sig for every thread and
// wakes the main thread. It ends with the process.
func (f *forwarder) signals(sigs <-chan os.Signal, woken chan<- struct{}) {
	for s := range sigs {
		if s == syscall.SIGQUIT {
			f.quitSig = true
		}
		f.quit()
		select {
		case woken <- struct{}{}:
		default:
		}
	}
}

// shutdown joins the threads as the family does, stops the concentrator
// and exits 0.
func (f *forwarder) shutdown() int {
	if f.family1301() {
		// Only the upstream thread is joined; the others are cancelled.
		<-f.upDone
		close(f.cancelled)
	} else {
		f.wg.Wait()
	}
	if !f.quitSig {
		f.out.printf("INFO: concentrator stopped successfully\n")
	}
	if f.cfg.spi {
		exec.Command("./reset_lgw.sh", "stop").Run()
	}
	f.out.printf("INFO: Exiting packet forwarder program\n")
	return 0
}

// dieBy ends the process by a signal. The Go runtime turns SEGV and ABRT
// into exit code 2; a shell in this process's place dies by the signal.
func dieBy(sig string) {
	sig = strings.TrimPrefix(strings.ToUpper(sig), "SIG")
	syscall.Exec("/bin/sh", []string{"sh", "-c", "kill -" + sig + " $$"}, os.Environ())
}

func readMode() (mode, arg string) {
	m := os.Getenv("FAKEFWD_MODE")
	if m == "sleep" { // a child started by the grandchild modes
		return m, ""
	}
	if b, err := os.ReadFile("fakefwd.mode"); err == nil {
		m = strings.TrimSpace(string(b))
	}
	mode, arg, _ = strings.Cut(m, ":")
	if mode == "" {
		mode = "run"
	}
	return mode, arg
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}
