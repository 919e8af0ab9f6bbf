// kdtb-lb: a small stand-in for the envoy binary in kind's load-balancer container, for the
// kubedrill testbed (no container registry here, so docker.io/envoyproxy/envoy cannot be pulled).
// It reads an Envoy bootstrap (-c), follows the file-based LDS and CDS sources it names (kind swaps
// them atomically with mv), and proxies TCP round-robin to the cluster's hosts that pass their
// health check. See scripts/testbed.d/README.md for what it supports and how it differs from Envoy.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const version = "kdtb-lb 1 (Envoy v3 file-based LDS/CDS subset)"

func main() {
	fs := flag.NewFlagSet("envoy", flag.ExitOnError)
	configPath := fs.String("c", "", "bootstrap config file")
	fs.StringVar(configPath, "config-path", "", "bootstrap config file")
	showVersion := fs.Bool("version", false, "print the version")
	fs.String("l", "info", "log level (accepted, ignored)")
	fs.String("log-level", "info", "log level (accepted, ignored)")
	_ = fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Println(version)
		return
	}
	if *configPath == "" {
		fmt.Fprintln(os.Stderr, "envoy (kdtb-lb): -c <bootstrap.yaml> is required")
		os.Exit(1)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	if err := run(*configPath); err != nil {
		log.Printf("envoy (kdtb-lb): %v", err)
		os.Exit(1)
	}
}

func run(configPath string) error {
	v, err := readYAMLFile(configPath)
	if err != nil {
		return err
	}
	b, err := parseBootstrap(v)
	if err != nil {
		return fmt.Errorf("%s: %w", configPath, err)
	}
	p := newProxy(log.Printf)
	defer p.close()
	if b.AdminAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "LIVE") })
		mux.HandleFunc("/clusters", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, p.status()) })
		go func() { log.Printf("admin: %v", http.ListenAndServe(b.AdminAddr, mux)) }()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	w := &watcher{cds: b.CDSPath, lds: b.LDSPath, p: p}
	log.Printf("%s: following %s and %s", version, b.LDSPath, b.CDSPath)
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	for {
		w.poll()
		select {
		case s := <-stop:
			log.Printf("exiting on %v", s)
			return nil
		case <-t.C:
		}
	}
}

// watcher reloads a dynamic-resource file when it changes (kind replaces it with mv, so the
// inode changes; an edit in place changes size or mtime). A file that fails to parse is logged
// and the running config stays, as Envoy rejects a bad update.
type watcher struct {
	cds, lds         string
	cdsSeen, ldsSeen os.FileInfo
	p                *proxy
}

func changed(path string, seen os.FileInfo) (os.FileInfo, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return seen, false
	}
	if seen != nil && os.SameFile(fi, seen) && fi.Size() == seen.Size() && fi.ModTime().Equal(seen.ModTime()) {
		return seen, false
	}
	return fi, true
}

func (w *watcher) poll() {
	// Clusters first, so a new listener finds its cluster.
	if fi, ok := changed(w.cds, w.cdsSeen); ok {
		w.cdsSeen = fi
		v, err := readYAMLFile(w.cds)
		if err == nil {
			var cs []cluster
			if cs, err = parseClusters(v); err == nil {
				w.p.setClusters(cs)
				log.Printf("cds: %d cluster(s) from %s", len(cs), w.cds)
			}
		}
		if err != nil {
			log.Printf("cds: update from %s rejected: %v", w.cds, err)
		}
	}
	if fi, ok := changed(w.lds, w.ldsSeen); ok {
		w.ldsSeen = fi
		v, err := readYAMLFile(w.lds)
		if err == nil {
			var ls []listener
			if ls, err = parseListeners(v); err == nil {
				err = w.p.setListeners(ls)
				log.Printf("lds: %d listener(s) from %s", len(ls), w.lds)
			}
		}
		if err != nil {
			log.Printf("lds: update from %s rejected: %v", w.lds, err)
		}
	}
}
