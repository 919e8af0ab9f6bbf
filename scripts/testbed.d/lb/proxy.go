package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// panicThreshold is Envoy's default healthy_panic_threshold: below this share of healthy hosts
// the cluster balances over every host, healthy or not.
const panicThreshold = 0.5

type host struct {
	addr      string // ip:port
	name      string // the endpoint's configured host
	healthy   atomic.Bool
	fails     int
	successes int
}

// clusterRT is a running cluster: its hosts (re-resolved for STRICT_DNS) and their health.
type clusterRT struct {
	cfg    cluster
	mu     sync.Mutex
	hosts  []*host
	next   uint64
	cancel context.CancelFunc
	logf   func(string, ...any)
}

func startCluster(cfg cluster, previous *clusterRT, logf func(string, ...any)) *clusterRT {
	ctx, cancel := context.WithCancel(context.Background())
	c := &clusterRT{cfg: cfg, cancel: cancel, logf: logf}
	if previous != nil {
		// Keep the health of hosts that stay, so a config rewrite does not make them flap.
		for _, h := range previous.snapshot() {
			n := &host{addr: h.addr, name: h.name}
			n.healthy.Store(h.healthy.Load())
			c.hosts = append(c.hosts, n)
		}
	}
	c.resolve(ctx)
	go func() {
		if cfg.Type != "STRICT_DNS" {
			return
		}
		t := time.NewTicker(cfg.DNSRefresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.resolve(ctx)
			}
		}
	}()
	if cfg.Health != nil {
		go c.checkLoop(ctx)
	}
	return c
}

func (c *clusterRT) stop() { c.cancel() }

func (c *clusterRT) snapshot() []*host {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*host(nil), c.hosts...)
}

// resolve turns the endpoints into hosts, keeping the state of hosts whose address is unchanged.
func (c *clusterRT) resolve(ctx context.Context) {
	var want []*host
	for _, e := range c.cfg.Endpoints {
		ips := []string{e.Host}
		if c.cfg.Type == "STRICT_DNS" && net.ParseIP(e.Host) == nil {
			ips = lookup(ctx, e.Host, c.cfg.IPv4First)
			if len(ips) == 0 {
				c.logf("cluster %s: %s does not resolve (yet)", c.cfg.Name, e.Host)
			}
		}
		for _, ip := range ips {
			want = append(want, &host{addr: joinHostPort(ip, e.Port), name: e.Host})
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := map[string]*host{}
	for _, h := range c.hosts {
		old[h.addr] = h
	}
	for i, h := range want {
		if o, ok := old[h.addr]; ok {
			want[i] = o
		} else if c.cfg.Health == nil {
			h.healthy.Store(true) // no health check: every host takes traffic
		}
	}
	c.hosts = want
}

func lookup(ctx context.Context, name string, ipv4First bool) []string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	order := []string{"ip4", "ip6"}
	if !ipv4First {
		order = []string{"ip6", "ip4"}
	}
	for _, network := range order {
		ips, err := net.DefaultResolver.LookupIP(ctx, network, name)
		if err == nil && len(ips) > 0 {
			out := make([]string, len(ips))
			for i, ip := range ips {
				out[i] = ip.String()
			}
			sort.Strings(out)
			return out
		}
	}
	return nil
}

func (c *clusterRT) checkLoop(ctx context.Context) {
	hc := c.cfg.Health
	client := &http.Client{
		Timeout: hc.Timeout,
		Transport: &http.Transport{
			// Like kind's ACCEPT_UNTRUSTED: the check asks whether the server answers, not who it is.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		},
	}
	scheme := "http"
	if hc.TLS {
		scheme = "https"
	}
	for {
		var wg sync.WaitGroup
		for _, h := range c.snapshot() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.check(ctx, client, scheme, h)
			}()
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-time.After(hc.Interval):
		}
	}
}

func (c *clusterRT) check(ctx context.Context, client *http.Client, scheme string, h *host) {
	hc := c.cfg.Health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+h.addr+hc.Path, nil)
	if err != nil {
		return
	}
	req.Host = c.cfg.Name // Envoy's default Host header for a health check is the cluster name
	ok, why := false, ""
	resp, err := client.Do(req)
	if err != nil {
		why = err.Error()
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		ok = resp.StatusCode == http.StatusOK
		why = resp.Status
	}
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		h.fails = 0
		h.successes++
		if !h.healthy.Load() && h.successes >= hc.HealthyThreshold {
			h.healthy.Store(true)
			c.logf("health: cluster %s host %s (%s) healthy", c.cfg.Name, h.addr, h.name)
		}
		return
	}
	h.successes = 0
	h.fails++
	// A new host starts unhealthy until its first passing check; log its first failure once.
	if h.healthy.Load() && h.fails >= hc.UnhealthyThreshold {
		h.healthy.Store(false)
		c.logf("health: cluster %s host %s (%s) unhealthy: %s", c.cfg.Name, h.addr, h.name, why)
	} else if !h.healthy.Load() && h.fails == 1 {
		c.logf("health: cluster %s host %s (%s) not healthy yet: %s", c.cfg.Name, h.addr, h.name, why)
	}
}

// candidates returns the hosts to try for one connection, in round-robin order: the healthy ones,
// or every host when fewer than panicThreshold of them are healthy (Envoy's panic mode).
func (c *clusterRT) candidates() []*host {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hosts) == 0 {
		return nil
	}
	var healthy []*host
	for _, h := range c.hosts {
		if h.healthy.Load() {
			healthy = append(healthy, h)
		}
	}
	pool := healthy
	if float64(len(healthy)) < panicThreshold*float64(len(c.hosts)) {
		pool = c.hosts
	}
	if len(pool) == 0 {
		return nil
	}
	start := int(c.next % uint64(len(pool)))
	c.next++
	return append(append([]*host(nil), pool[start:]...), pool[:start]...)
}

// proxy is the whole program state: running listeners and clusters, replaced on config changes.
type proxy struct {
	mu        sync.Mutex
	clusters  map[string]*clusterRT
	listeners map[string]*listenerRT
	logf      func(string, ...any)
}

type listenerRT struct {
	cfg listener
	ln  net.Listener
}

func newProxy(logf func(string, ...any)) *proxy {
	if logf == nil {
		logf = log.Printf
	}
	return &proxy{clusters: map[string]*clusterRT{}, listeners: map[string]*listenerRT{}, logf: logf}
}

func (p *proxy) cluster(name string) *clusterRT {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clusters[name]
}

// setClusters applies a CDS update: new and changed clusters start, removed ones stop.
func (p *proxy) setClusters(cs []cluster) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := map[string]*clusterRT{}
	for _, c := range cs {
		old := p.clusters[c.Name]
		if old != nil && reflect.DeepEqual(old.cfg, c) {
			next[c.Name] = old
			continue
		}
		next[c.Name] = startCluster(c, old, p.logf)
		if old != nil {
			old.stop()
		}
	}
	for name, old := range p.clusters {
		if _, ok := next[name]; !ok {
			old.stop()
		}
	}
	p.clusters = next
}

// setListeners applies an LDS update. A listener whose address is unchanged keeps its socket.
func (p *proxy) setListeners(ls []listener) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := map[string]*listenerRT{}
	var errs []string
	for _, l := range ls {
		old := p.listeners[l.Name]
		if old != nil && old.cfg.Addr == l.Addr {
			old.cfg = l
			next[l.Name] = old
			continue
		}
		if old != nil {
			old.ln.Close()
		}
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			errs = append(errs, fmt.Sprintf("listener %s: %v", l.Name, err))
			continue
		}
		rt := &listenerRT{cfg: l, ln: ln}
		next[l.Name] = rt
		p.logf("listener %s on %s → cluster %s", l.Name, ln.Addr(), l.Cluster)
		go p.serve(rt)
	}
	for name, old := range p.listeners {
		if _, ok := next[name]; !ok {
			old.ln.Close()
		}
	}
	p.listeners = next
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func (p *proxy) serve(l *listenerRT) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return // closed by a config change or shutdown
		}
		p.mu.Lock()
		clusterName := l.cfg.Cluster
		p.mu.Unlock()
		go p.forward(conn, clusterName)
	}
}

// forward connects to the cluster's next candidate host, trying the following ones when a connect
// fails (Envoy's tcp_proxy makes one attempt by default; retrying keeps a host that has just died
// from failing connections before its health check notices), then copies bytes both ways.
func (p *proxy) forward(down net.Conn, clusterName string) {
	defer down.Close()
	c := p.cluster(clusterName)
	if c == nil {
		p.logf("connection from %s: no cluster %q", down.RemoteAddr(), clusterName)
		return
	}
	var up net.Conn
	for _, h := range c.candidates() {
		conn, err := net.DialTimeout("tcp", h.addr, c.cfg.ConnectTimeout)
		if err == nil {
			up = conn
			break
		}
	}
	if up == nil {
		p.logf("connection from %s: no host of cluster %s accepted it", down.RemoteAddr(), clusterName)
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done
	<-done
}

// status is the admin /clusters text: one line per host, like Envoy's "cluster::host::health_flags::…".
func (p *proxy) status() string {
	p.mu.Lock()
	names := make([]string, 0, len(p.clusters))
	for n := range p.clusters {
		names = append(names, n)
	}
	clusters := p.clusters
	p.mu.Unlock()
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		for _, h := range clusters[n].snapshot() {
			flag := "healthy"
			if !h.healthy.Load() {
				flag = "/failed_active_hc"
			}
			fmt.Fprintf(&b, "%s::%s::hostname::%s\n%s::%s::health_flags::%s\n", n, h.addr, h.name, n, h.addr, flag)
		}
	}
	return b.String()
}

func (p *proxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.listeners {
		l.ln.Close()
	}
	for _, c := range p.clusters {
		c.stop()
	}
}
