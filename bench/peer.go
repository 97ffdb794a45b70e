package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// peer is another gateway run in the same bench as Brightline (-peer), in
// front of the same fake upstream, so that its figures come from the same
// minutes on the same machine as Brightline's and the upstream's own.
type peer struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startPeer runs command with sh -c, {upstream} replaced by the fake
// upstream's base URL (http://ADDR/v1) and {port} by a free port on
// 127.0.0.1, and waits until the peer answers a chat completion for
// model, sent with key as a bearer token unless key is "". The command
// should run the peer in the foreground (exec it from a script): the
// peer's CPU time is that of the process tree the command starts. It runs
// with TMPDIR set to tmp, if not "", for the files it makes.
func startPeer(name, command, upAddr, model, key, tmp string, stderr io.Writer) (*peer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	command = strings.NewReplacer("{upstream}", "http://"+upAddr+"/v1", "{port}", port).Replace(command)
	p := &peer{name: name, addr: addr, cmd: exec.Command("sh", "-c", command), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = stderr, stderr
	if tmp != "" {
		p.cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // close stops the whole tree
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("couldn't start the peer %s: %w", name, err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()

	body := `{"model":"` + model + `","messages":[{"role":"user","content":"ready?"}]}`
	hdr := http.Header{}
	if key != "" {
		hdr.Set("Authorization", "Bearer "+key)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, err := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			p.close()
			return nil, err
		}
		req.Header = hdr.Clone()
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
			err = fmt.Errorf("status %d: %.300s", resp.StatusCode, b)
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("the peer %s exited at start (%v)", name, p.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			p.close()
			return nil, fmt.Errorf("the peer %s did not answer a chat completion in 60s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// close stops the peer's process group.
func (p *peer) close() {
	if p == nil {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// cpu returns the CPU time (user and system) of the peer's processes so
// far, from /proc.
func (p *peer) cpu() (time.Duration, error) {
	return treeCPU(p.cmd.Process.Pid)
}

// treeCPU is the CPU time of process pid and its live descendants.
func treeCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("couldn't read the peer's CPU time: %w", err)
	}
	// The fields after the command name, which is in parentheses and may
	// hold anything: state is field 3, utime 14 and stime 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("couldn't read the peer's CPU time: malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("couldn't read the peer's CPU time: short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("couldn't read the peer's CPU time: %w", err)
	}
	// Linux reports these in clock ticks of USER_HZ, 100 a second.
	total := time.Duration(utime+stime) * (time.Second / 100)
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, k := range strings.Fields(string(kids)) {
			kid, err := strconv.Atoi(k)
			if err != nil {
				continue
			}
			if d, err := treeCPU(kid); err == nil {
				total += d
			}
		}
	}
	return total, nil
}
