// Package fakefwd is a simulated lora_pkt_fwd for tests and `pktfwd demo`.
// Like the real builds it reads ./global_conf.json from its working
// directory, runs ./reset_lgw.sh (SX1302 family), buffers its stdout fully
// when it is not a terminal, and exits cleanly on SIGTERM. Its behaviour
// comes from ./fakefwd.mode (read at each start) or FAKEFWD_MODE:
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
//	stall[:D]       after D (0), stop in the middle of a stat block and
//	                ignore SIGTERM, as a forwarder whose chip hangs
//	freeze-counter[:D]   the SX1302 counter stops moving after D
//	counter-unknown[:D]  the SX1302 counter reads unknown after D
//	noack           no PUSH_DATA or PULL_DATA is acknowledged
//	silent          no radio packet is received
//
// While running it prints a statistics block of its family (SX1302 when
// the config has SX130x_conf, else SX1301) every gateway_conf.stat_interval
// seconds (30 without it), with the real forwarders' formats.
// SIGUSR1 makes a running forwarder die by SIGSEGV; SIGUSR2 makes it stall.
package fakefwd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Main runs the simulated forwarder and returns its exit code.
func Main() int {
	out, flush := stdout()
	defer flush()
	mode, arg := readMode()
	if mode == "sleep" {
		time.Sleep(time.Hour)
		return 0
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	crash := make(chan os.Signal, 1)
	signal.Notify(crash, syscall.SIGUSR1) // the demo's way to make it crash
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	}
	fmt.Fprintln(out, "*** Packet Forwarder (simulated by pktfwd) ***")
	fmt.Fprintln(out, "INFO: found configuration file global_conf.json, parsing it")
	coreCell, statEvery, code := readConfig(out)
	if code != 0 {
		return code
	}
	if coreCell {
		if err := exec.Command("./reset_lgw.sh", "start").Run(); err != nil {
			fmt.Fprintln(out, "ERROR: failed to reset SX1302, check your reset_lgw.sh script")
			return 1
		}
	}
	switch mode {
	case "crash":
		time.Sleep(25 * time.Millisecond)
		fmt.Fprintln(out, "ERROR: [main] failed to start the concentrator")
		return atoi(arg, 1)
	case "grandchild", "setsid-child":
		self, _ := os.Executable()
		c := exec.Command(self)
		c.Env = append(os.Environ(), "FAKEFWD_MODE=sleep")
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if mode == "setsid-child" { // out of the forwarder's process group
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		}
		c.Start()
		fmt.Fprintf(out, "INFO: started a %s, pid %d\n", mode, c.Process.Pid)
		if mode == "grandchild" {
			return 1
		}
	case "flood":
		line := strings.Repeat("x", 99) + "\n"
		for n := atoi(arg, 1<<20); n > 0; n -= len(line) {
			io.WriteString(out, line)
		}
	case "nonewline":
		io.WriteString(out, strings.Repeat("y", atoi(arg, 1<<16)))
	}
	fmt.Fprintln(out, "INFO: [main] concentrator started, packet can now be received")
	flushIfTerminal(out)
	switch mode {
	case "exit0":
		return 0
	case "signal":
		// The Go runtime turns SEGV and ABRT into exit code 2; a shell in
		// this process's place dies by the signal itself.
		dieBy(arg)
		return 3
	}
	var deadline <-chan time.Time
	if mode == "crash-after" || mode == "setsid-child" {
		d, _ := time.ParseDuration(arg)
		deadline = time.After(d)
	}
	stallNow := make(chan os.Signal, 1)
	signal.Notify(stallNow, syscall.SIGUSR2)
	sim := newRadio(mode, arg, coreCell, statEvery)
	stat := time.NewTicker(statEvery)
	for {
		select {
		case <-deadline:
			fmt.Fprintln(out, "ERROR: [main] concentrator stopped unexpectedly")
			return 1
		case <-crash:
			fmt.Fprintln(out, "ERROR: [main] concentrator crashed (SIGUSR1 asked for it)")
			flushIfTerminal(out)
			dieBy("SEGV")
			return 3
		case <-stallNow:
			sim.stallAt = time.Now()
		case <-stat.C:
			if sim.stat(out) {
				flushIfTerminal(out)
				stall(sigs)
			}
			flushIfTerminal(out)
		case s := <-sigs:
			fmt.Fprintf(out, "INFO: %s received, exiting packet forwarder program\n", s)
			if coreCell {
				exec.Command("./reset_lgw.sh", "stop").Run()
			}
			return 0
		}
	}
}

// dieBy ends the process by a signal. The Go runtime turns SEGV and ABRT
// into exit code 2; a shell in this process's place dies by the signal.
func dieBy(sig string) {
	sig = strings.TrimPrefix(strings.ToUpper(sig), "SIG")
	syscall.Exec("/bin/sh", []string{"sh", "-c", "kill -" + sig + " $$"}, os.Environ())
}

// stdout buffers like C stdio: by line on a terminal, fully on a pipe.
func stdout() (*bufio.Writer, func()) {
	w := bufio.NewWriterSize(os.Stdout, 4096)
	return w, func() { w.Flush() }
}

func flushIfTerminal(w *bufio.Writer) {
	if _, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS); err == nil {
		w.Flush()
	}
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

type radio struct {
	Enable     bool    `json:"enable"`
	Type       string  `json:"type"`
	Freq       int     `json:"freq"`
	RSSIOffset float64 `json:"rssi_offset"`
	TxEnable   bool    `json:"tx_enable"`
}

type channel struct {
	Enable bool `json:"enable"`
	Radio  int  `json:"radio"`
	IF     int  `json:"if"`
}

// readConfig parses ./global_conf.json as the real builds do and prints
// the radios and channels; a non-zero code means exit. It returns the
// stat interval too (SX1301: local_conf.json may override it).
func readConfig(out io.Writer) (coreCell bool, statEvery time.Duration, code int) {
	b, err := os.ReadFile("global_conf.json")
	var doc map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil {
		fmt.Fprintln(out, "ERROR: global_conf.json is not a valid JSON file")
		return false, 0, 1
	}
	section, ok := doc["SX130x_conf"]
	coreCell = ok
	if !ok {
		if section, ok = doc["SX1301_conf"]; !ok {
			fmt.Fprintln(out, "INFO: global_conf.json does not contain a JSON object named SX130x_conf")
			return false, 0, 1
		}
	}
	var conf map[string]json.RawMessage
	json.Unmarshal(section, &conf)
	var radios [2]radio
	for i := range radios {
		json.Unmarshal(conf[fmt.Sprintf("radio_%d", i)], &radios[i])
		r := radios[i]
		fmt.Fprintf(out, "INFO: radio %d enabled %v (type %s), center frequency %d, RSSI offset %.1f, tx enabled %v\n", i, r.Enable, r.Type, r.Freq, r.RSSIOffset, r.TxEnable)
	}
	for i := 0; i < 8; i++ {
		var c channel
		json.Unmarshal(conf[fmt.Sprintf("chan_multiSF_%d", i)], &c)
		if !c.Enable {
			fmt.Fprintf(out, "INFO: Lora multi-SF channel %d disabled\n", i)
			continue
		}
		if c.Radio < 0 || c.Radio > 1 || c.IF < -800000 || c.IF > 800000 {
			fmt.Fprintf(out, "ERROR: invalid configuration for Lora multi-SF channel %d\n", i)
			return coreCell, 0, 1
		}
		fmt.Fprintf(out, "INFO: Lora multi-SF channel %d>  radio %d, IF %d Hz, 125 kHz bw, SF 5 to 12 (%.4g MHz)\n", i, c.Radio, c.IF, float64(radios[c.Radio].Freq+c.IF)/1e6)
	}
	var gw struct {
		ID           string   `json:"gateway_ID"`
		StatInterval *float64 `json:"stat_interval"`
	}
	json.Unmarshal(doc["gateway_conf"], &gw)
	fmt.Fprintf(out, "INFO: gateway MAC address is configured to %s\n", gw.ID)
	if !coreCell {
		var local struct {
			Gateway json.RawMessage `json:"gateway_conf"`
		}
		if b, err := os.ReadFile("local_conf.json"); err == nil && json.Unmarshal(b, &local) == nil && local.Gateway != nil {
			json.Unmarshal(local.Gateway, &gw)
		}
	}
	statEvery = 30 * time.Second
	if gw.StatInterval != nil && *gw.StatInterval > 0 {
		statEvery = time.Duration(*gw.StatInterval * float64(time.Second))
	}
	fmt.Fprintf(out, "INFO: statistics display interval is configured to %g seconds\n", statEvery.Seconds())
	return coreCell, statEvery, 0
}
