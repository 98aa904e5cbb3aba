// momentum-loader: the load generator of Momentum's benchmark harness.
//
// It speaks the benchmark subset of Momentum's WebSocket protocol, which the reference
// servers in ../peers speak too, so one binary drives every server with the same workload:
//
//	connect   ws://HOST:PORT/ws?token=JWT (one JWT per connection, each a distinct user)
//	send      {"message_type":"text","data":{...},"to_user_id":null|"<user id>"}
//	receive   {"id","message_type","data","timestamp","from_user_id","to_user_id"}
//	ack       {"message_type":"ack","data":{"ids":[...]}}   (direct modes; Momentum drops the
//	          acknowledged messages from the recipient's pending set, the peers ignore it)
//
// With -format msgpack the same envelopes go as MessagePack maps in binary frames, both
// ways (subprotocol momentum.msgpack: Momentum only; see msgpack.go).
//
// Modes (-mode):
//
//	storm      open -n connections, -c handshakes at a time; handshake latency percentiles
//	idle       the same, then hold them -hold seconds ("READY <n>" on stderr once all are up)
//	broadcast  -n connections; the first also publishes -rate msg/s for -duration s to all
//	direct     each of -n connections sends -messages direct messages to other connections'
//	           users (random, seeded), at -rate msg/s each (0: as fast as the socket takes them)
//	sustained  direct at -rate msg/s per connection for -duration s
//
// Latency is end to end: the sender puts its clock (Unix microseconds) in data.t, the
// receiving connection, in this same process, subtracts it from its own clock. Only frames
// of type text or notification carrying that stamp are counted; acks, presence
// (user_joined, user_left), pongs and errors are tallied separately under "other_frames".
//
// The result is one JSON object on stdout. Every phase is bounded: handshakes time out,
// deliveries are awaited at most -drain seconds after the last send, and a watchdog ends
// the process after -timeout seconds whatever happens.
//
// Built with Debian's golang-go and golang-github-gorilla-websocket-dev, without modules
// (see build.sh); it uses nothing newer than Go 1.19.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// ---------------------------------------------------------------- options

var (
	flagURL      = flag.String("url", "ws://127.0.0.1:8000/ws", "WebSocket URL; the token is added as ?token=")
	flagURL2     = flag.String("url2", "", "a second server (another node of a cluster): odd connections go there, and direct/sustained messages always cross from one server to the other")
	flagTokens   = flag.String("tokens", "", "file with one JWT per line, each of a distinct user (required)")
	flagMode     = flag.String("mode", "storm", "storm | idle | broadcast | direct | sustained")
	flagN        = flag.Int("n", 100, "connections")
	flagC        = flag.Int("c", 100, "handshakes in flight at a time while connecting")
	flagHold     = flag.Float64("hold", 0, "idle: seconds to hold the connections once all are open")
	flagRate     = flag.Float64("rate", 100, "broadcast: publisher msg/s; direct, sustained: msg/s per connection (0 = unthrottled)")
	flagDuration = flag.Float64("duration", 5, "broadcast, sustained: seconds of sending")
	flagMessages = flag.Int("messages", 1000, "direct: messages per connection")
	flagPayload  = flag.Int("payload", 64, "characters of filler in data.content")
	flagSettle   = flag.Float64("settle", 1, "seconds between the last handshake and the first message (presence chatter)")
	flagDrain    = flag.Float64("drain", 10, "seconds to wait for outstanding deliveries after the last send")
	flagAck      = flag.Bool("ack", true, "direct, sustained: acknowledge received messages in batches")
	flagAckBatch = flag.Int("ack-batch", 100, "ids per ack frame (at most 1000)")
	flagAckEvery = flag.Duration("ack-every", 200*time.Millisecond, "longest wait before acking what was received")
	flagTimeout  = flag.Float64("timeout", 0, "watchdog: exit after this many seconds (0: derived from the sizes)")
	flagHSTime   = flag.Duration("handshake-timeout", 30*time.Second, "per-connection dial and handshake timeout")
	flagFormat   = flag.String("format", "json", "json (text frames) | msgpack (binary frames, subprotocol momentum.msgpack)")
)

// ---------------------------------------------------------------- shared state

type conn struct {
	ws   *websocket.Conn
	user string // the token's "sub"
	side int    // 0: -url, 1: -url2
	wmu  sync.Mutex

	lmu     sync.Mutex
	lat     []int64 // delivery latencies, microseconds
	done    chan struct{}
	closing int32

	amu    sync.Mutex
	ackIDs []string
	ackSig chan struct{}
}

type counters struct {
	delivered   int64
	lastDeliver int64 // UnixNano of the latest counted delivery
	unparsed    int64
	ackFrames   int64
	ackIDs      int64
}

var (
	binaryFrames bool // -format msgpack
	ctr          counters
	countOn      int32 // deliveries are counted only while this is 1
	filler       string
	otherMu      sync.Mutex
	other        = map[string]int64{} // frames not counted as deliveries, by message_type
	errMu        sync.Mutex
	errs         = map[string]int64{} // connection and protocol errors, by kind
	serverErrs   = map[string]int64{} // "error" frames, by data.code
)

func noteErr(kind string) {
	if len(kind) > 100 {
		kind = kind[:100]
	}
	errMu.Lock()
	errs[kind]++
	errMu.Unlock()
}

func fatal(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "momentum-loader: "+format+"\n", a...)
	os.Exit(2)
}

// ---------------------------------------------------------------- main

func main() {
	flag.Parse()
	mode := *flagMode
	switch mode {
	case "storm", "idle", "broadcast", "direct", "sustained":
	default:
		fatal("unknown -mode %q (storm | idle | broadcast | direct | sustained)", mode)
	}
	if *flagN < 1 || *flagC < 1 {
		fatal("-n and -c must be at least 1")
	}
	if (mode == "direct" || mode == "sustained") && *flagN < 2 {
		fatal("-mode %s needs -n of at least 2", mode)
	}
	if mode == "broadcast" && *flagRate <= 0 {
		fatal("-mode broadcast needs -rate above 0")
	}
	if mode == "sustained" && *flagRate <= 0 {
		fatal("-mode sustained needs -rate above 0")
	}
	if *flagFormat != "json" && *flagFormat != "msgpack" {
		fatal("unknown -format %q (json | msgpack)", *flagFormat)
	}
	binaryFrames = *flagFormat == "msgpack"
	if *flagAckBatch < 1 || *flagAckBatch > 1000 {
		fatal("-ack-batch must be within 1..1000")
	}
	filler = strings.Repeat("x", *flagPayload)
	tokens := readTokens(*flagTokens, *flagN)
	startWatchdog(mode)

	res := result{Mode: mode, Connections: *flagN}
	switch mode {
	case "storm", "idle":
		runStorm(&res, tokens)
	case "broadcast":
		runBroadcast(&res, tokens)
	case "direct", "sustained":
		runDirect(&res, tokens)
	}
	emit(&res)
}

func readTokens(path string, n int) []string {
	if path == "" {
		fatal("-tokens FILE is required")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		fatal("%v", err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if t := strings.TrimSpace(line); t != "" {
			out = append(out, t)
			if len(out) == n {
				break
			}
		}
	}
	if len(out) < n {
		fatal("%s holds %d tokens, -n asks for %d", path, len(out), n)
	}
	return out
}

// subject is the JWT's "sub" claim, read without verifying the signature.
func subject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		fatal("not a JWT: %.16s...", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		fatal("JWT payload is not base64url: %v", err)
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Sub == "" {
		fatal("JWT without a sub claim")
	}
	return claims.Sub
}

func startWatchdog(mode string) {
	limit := *flagTimeout
	if limit <= 0 {
		n := float64(*flagN)
		limit = 60 + n/20 + *flagSettle + *flagDrain + 2*(*flagHSTime).Seconds()
		switch mode {
		case "idle":
			limit += *flagHold
		case "broadcast", "sustained":
			limit += 2 * *flagDuration
		case "direct":
			if *flagRate > 0 {
				limit += 2 * float64(*flagMessages) / *flagRate
			}
			limit += n * float64(*flagMessages) / 1000 // at worst 1000 msg/s overall
		}
	}
	go func() {
		time.Sleep(time.Duration(limit * float64(time.Second)))
		b, _ := json.Marshal(map[string]interface{}{"mode": mode, "error": fmt.Sprintf("watchdog: still running after %.0f s", limit)})
		fmt.Println(string(b))
		os.Exit(3)
	}()
}

// ---------------------------------------------------------------- connecting

func dial(token string, side int) (*conn, time.Duration, error) {
	base := *flagURL
	if side == 1 {
		base = *flagURL2
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	target := base + sep + "token=" + url.QueryEscape(token)
	d := websocket.Dialer{HandshakeTimeout: *flagHSTime, ReadBufferSize: 4096, WriteBufferSize: 4096}
	t0 := time.Now()
	if binaryFrames {
		d.Subprotocols = []string{msgpackSubprotocol}
	}
	ws, resp, err := d.Dial(target, nil)
	took := time.Since(t0)
	if err != nil {
		if resp != nil {
			return nil, took, fmt.Errorf("handshake refused: HTTP %d", resp.StatusCode)
		}
		return nil, took, err
	}
	if binaryFrames && ws.Subprotocol() != msgpackSubprotocol {
		_ = ws.Close()
		return nil, took, errors.New("the server does not speak " + msgpackSubprotocol)
	}
	return &conn{ws: ws, user: subject(token), done: make(chan struct{}), ackSig: make(chan struct{}, 1)}, took, nil
}

// connectAll opens one connection per token, -c at a time; failed ones are nil.
func connectAll(tokens []string) ([]*conn, []int64, time.Duration) {
	conns := make([]*conn, len(tokens))
	lat := make([]int64, 0, len(tokens))
	var latMu sync.Mutex
	sem := make(chan struct{}, *flagC)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, tok := range tokens {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, tok string) {
			defer wg.Done()
			defer func() { <-sem }()
			side := 0
			if *flagURL2 != "" {
				side = i % 2
			}
			c, took, err := dial(tok, side)
			if err != nil {
				noteErr("connect: " + err.Error())
				return
			}
			c.side = side
			conns[i] = c
			latMu.Lock()
			lat = append(lat, took.Microseconds())
			latMu.Unlock()
		}(i, tok)
	}
	wg.Wait()
	return conns, lat, time.Since(t0)
}

// pickPeer: any other connection; with -url2, one on the other server.
func pickPeer(conns []*conn, c *conn, rng *rand.Rand) *conn {
	for {
		peer := conns[rng.Intn(len(conns))]
		if peer != c && (*flagURL2 == "" || peer.side != c.side) {
			return peer
		}
	}
}

func live(all []*conn) []*conn {
	out := make([]*conn, 0, len(all))
	for _, c := range all {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

func closeAll(conns []*conn) {
	for _, c := range conns {
		atomic.StoreInt32(&c.closing, 1)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func(c *conn) {
			defer wg.Done()
			defer func() { <-sem }()
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			_ = c.ws.Close()
		}(c)
	}
	wg.Wait()
	for _, c := range conns {
		select {
		case <-c.done:
		case <-time.After(2 * time.Second):
		}
	}
}

// ---------------------------------------------------------------- frames

func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if binaryFrames {
		return c.ws.WriteMessage(websocket.BinaryMessage, b)
	}
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// send writes one stamped text message; to == "" broadcasts.
func (c *conn) send(to string, seq int64) error {
	if binaryFrames {
		return c.write(mpText(to, time.Now().UnixMicro(), seq))
	}
	var b []byte
	b = append(b, `{"message_type":"text","data":{"content":"`...)
	b = append(b, filler...)
	b = append(b, `","t":`...)
	b = strconv.AppendInt(b, time.Now().UnixMicro(), 10)
	b = append(b, `,"s":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `},"to_user_id":`...)
	if to == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, to...)
		b = append(b, '"')
	}
	b = append(b, '}')
	return c.write(b)
}

var (
	keyType   = []byte(`"message_type"`)
	keyStamp  = []byte(`"t"`)
	keyID     = []byte(`"id"`)
	keyCode   = []byte(`"code"`)
	typeText  = []byte("text")
	typeNote  = []byte("notification")
	typeError = []byte("error")
)

const msgpackSubprotocol = "momentum.msgpack"

// field returns the value of the first `"key":` in msg: the string's contents for a JSON
// string, the raw token for a number; nil when absent. Envelopes are flat enough that the
// first occurrence is the envelope's own field (the loader's data uses none of these keys).
func field(msg []byte, quotedKey []byte) []byte {
	i := bytes.Index(msg, quotedKey)
	if i < 0 {
		return nil
	}
	j := i + len(quotedKey)
	for j < len(msg) && (msg[j] == ' ' || msg[j] == ':') {
		j++
	}
	if j >= len(msg) {
		return nil
	}
	if msg[j] == '"' {
		k := bytes.IndexByte(msg[j+1:], '"')
		if k < 0 {
			return nil
		}
		return msg[j+1 : j+1+k]
	}
	k := j
	for k < len(msg) && (msg[k] == '-' || (msg[k] >= '0' && msg[k] <= '9')) {
		k++
	}
	return msg[j:k]
}

// readLoop reads until the connection closes: stamped text/notification frames are
// deliveries (latency, and queued for an ack when acking); everything else is tallied.
func (c *conn) readLoop(acking bool) {
	defer close(c.done)
	var buf bytes.Buffer
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			if atomic.LoadInt32(&c.closing) == 0 {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					noteErr(fmt.Sprintf("closed by server: %d", ce.Code))
				} else {
					noteErr("read: " + err.Error())
				}
			}
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil && err != io.EOF {
			continue
		}
		now := time.Now().UnixMicro()
		e, err := readEnvelope(buf.Bytes())
		if err != nil {
			atomic.AddInt64(&ctr.unparsed, 1)
			continue
		}
		if !(bytes.Equal(e.kind, typeText) || bytes.Equal(e.kind, typeNote)) {
			c.tallyOther(e.kind, e.code)
			continue
		}
		if !e.stamped {
			c.tallyOther([]byte("text without stamp"), nil)
			continue
		}
		sent := e.stamp
		if acking && e.id != nil {
			c.queueAck(string(e.id))
		}
		if atomic.LoadInt32(&countOn) == 0 {
			continue
		}
		c.lmu.Lock()
		c.lat = append(c.lat, now-sent)
		c.lmu.Unlock()
		atomic.AddInt64(&ctr.delivered, 1)
		atomic.StoreInt64(&ctr.lastDeliver, time.Now().UnixNano())
	}
}

// readEnvelope finds what the reader needs in one frame: scanned as JSON (the fields'
// first occurrences, see field), or read as MessagePack (msgpack.go).
func readEnvelope(msg []byte) (envelope, error) {
	if binaryFrames {
		return mpEnvelope(msg)
	}
	e := envelope{kind: field(msg, keyType)}
	if !(bytes.Equal(e.kind, typeText) || bytes.Equal(e.kind, typeNote)) {
		if bytes.Equal(e.kind, typeError) {
			e.code = field(msg, keyCode)
		}
		return e, nil
	}
	stamp := field(msg, keyStamp)
	if stamp == nil {
		return e, nil
	}
	var err error
	e.stamp, err = strconv.ParseInt(string(stamp), 10, 64)
	e.stamped = err == nil
	e.id = field(msg, keyID)
	return e, err
}

func (c *conn) tallyOther(kind, code []byte) {
	k := string(kind)
	if k == "" {
		k = "unknown"
	}
	otherMu.Lock()
	other[k]++
	otherMu.Unlock()
	if k == "error" {
		errMu.Lock()
		serverErrs[string(code)]++
		errMu.Unlock()
	}
}

// ---------------------------------------------------------------- acks

func (c *conn) queueAck(id string) {
	c.amu.Lock()
	c.ackIDs = append(c.ackIDs, id)
	full := len(c.ackIDs) >= *flagAckBatch
	c.amu.Unlock()
	if full {
		select {
		case c.ackSig <- struct{}{}:
		default:
		}
	}
}

// ackLoop sends what the reader queued: a frame per -ack-batch ids, or what is there every
// -ack-every. It runs apart from the reader so that a write that waits on the server never
// stops this connection from reading.
func (c *conn) ackLoop(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	tick := time.NewTicker(*flagAckEvery)
	defer tick.Stop()
	for {
		final := false
		select {
		case <-stop:
			final = true
		case <-c.done:
			return
		case <-tick.C:
		case <-c.ackSig:
		}
		for {
			c.amu.Lock()
			n := len(c.ackIDs)
			if n > *flagAckBatch {
				n = *flagAckBatch
			}
			ids := append([]string(nil), c.ackIDs[:n]...)
			c.ackIDs = c.ackIDs[n:]
			c.amu.Unlock()
			if len(ids) == 0 {
				break
			}
			if err := c.write(ackFrame(ids)); err != nil {
				return
			}
			atomic.AddInt64(&ctr.ackFrames, 1)
			atomic.AddInt64(&ctr.ackIDs, int64(len(ids)))
			if len(ids) < *flagAckBatch {
				break
			}
		}
		if final {
			return
		}
	}
}

func ackFrame(ids []string) []byte {
	if binaryFrames {
		return mpAck(ids)
	}
	var b []byte
	b = append(b, `{"message_type":"ack","data":{"ids":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, id...)
		b = append(b, '"')
	}
	return append(b, "]}}"...)
}

// ---------------------------------------------------------------- results

type result struct {
	Mode           string             `json:"mode"`
	Connections    int                `json:"connections"`
	Connected      int                `json:"connected"`
	ConnectSeconds float64            `json:"connect_s"`
	ConnectMs      map[string]float64 `json:"connect_ms,omitempty"`
	HoldSeconds    float64            `json:"hold_s,omitempty"`
	OpenAtEnd      *int               `json:"open_at_end,omitempty"`
	Rate           float64            `json:"rate,omitempty"`
	Sent           int64              `json:"sent,omitempty"`
	Expected       int64              `json:"expected,omitempty"`
	Delivered      int64              `json:"delivered,omitempty"`
	DeliveryRatio  *float64           `json:"delivery_ratio,omitempty"`
	SendSeconds    float64            `json:"send_s,omitempty"`
	DeliverSeconds float64            `json:"deliver_s,omitempty"`
	PerSecond      float64            `json:"deliveries_per_s,omitempty"`
	LatencyMs      map[string]float64 `json:"latency_ms,omitempty"`
	AckFrames      int64              `json:"ack_frames_sent,omitempty"`
	AckIDs         int64              `json:"ack_ids_sent,omitempty"`
	Other          map[string]int64   `json:"other_frames,omitempty"`
	ServerErrors   map[string]int64   `json:"server_error_codes,omitempty"`
	Unparsed       int64              `json:"unparsed,omitempty"`
	Errors         map[string]int64   `json:"errors,omitempty"`
}

func round(v float64, places int) float64 {
	p := 1.0
	for i := 0; i < places; i++ {
		p *= 10
	}
	if v < 0 {
		return -float64(int64(-v*p+0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}

// percentiles of microsecond samples, in milliseconds (nearest rank).
func percentiles(us []int64, withP999 bool) map[string]float64 {
	if len(us) == 0 {
		return nil
	}
	sort.Slice(us, func(i, j int) bool { return us[i] < us[j] })
	rank := func(p float64) float64 {
		i := int(p*float64(len(us))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(us) {
			i = len(us) - 1
		}
		return round(float64(us[i])/1000, 3)
	}
	var sum int64
	for _, v := range us {
		sum += v
	}
	out := map[string]float64{"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99),
		"max": round(float64(us[len(us)-1])/1000, 3), "mean": round(float64(sum)/float64(len(us))/1000, 3)}
	if withP999 {
		out["p999"] = rank(0.999)
	}
	return out
}

func emit(r *result) {
	otherMu.Lock()
	if len(other) > 0 {
		r.Other = other
	}
	otherMu.Unlock()
	errMu.Lock()
	if len(errs) > 0 {
		r.Errors = errs
	}
	if len(serverErrs) > 0 {
		r.ServerErrors = serverErrs
	}
	errMu.Unlock()
	r.Unparsed = atomic.LoadInt64(&ctr.unparsed)
	b, err := json.Marshal(r)
	if err != nil {
		fatal("%v", err)
	}
	fmt.Println(string(b))
}

// measure fills the delivery figures once sending is over: it waits for the expected
// deliveries at most -drain seconds.
func measure(r *result, conns []*conn, start, sendEnd time.Time, sent, expected int64) {
	deadline := sendEnd.Add(time.Duration(*flagDrain * float64(time.Second)))
	for time.Now().Before(deadline) && atomic.LoadInt64(&ctr.delivered) < expected {
		time.Sleep(5 * time.Millisecond)
	}
	atomic.StoreInt32(&countOn, 0)
	got := atomic.LoadInt64(&ctr.delivered)
	r.Sent, r.Expected, r.Delivered = sent, expected, got
	if expected > 0 {
		ratio := round(float64(got)/float64(expected), 4)
		r.DeliveryRatio = &ratio
	}
	r.SendSeconds = round(sendEnd.Sub(start).Seconds(), 3)
	if last := atomic.LoadInt64(&ctr.lastDeliver); last > 0 && got > 0 {
		span := time.Unix(0, last).Sub(start).Seconds()
		r.DeliverSeconds = round(span, 3)
		if span > 0 {
			r.PerSecond = round(float64(got)/span, 1)
		}
	}
	var all []int64
	for _, c := range conns {
		c.lmu.Lock()
		all = append(all, c.lat...)
		c.lmu.Unlock()
	}
	r.LatencyMs = percentiles(all, true)
}

// ---------------------------------------------------------------- modes

func runStorm(r *result, tokens []string) {
	all, lat, took := connectAll(tokens)
	conns := live(all)
	r.Connected = len(conns)
	r.ConnectSeconds = round(took.Seconds(), 3)
	r.ConnectMs = percentiles(lat, false)
	for _, c := range conns {
		go c.readLoop(false)
	}
	if r.Mode == "idle" {
		fmt.Fprintf(os.Stderr, "READY %d\n", len(conns))
		hold := time.Duration(*flagHold * float64(time.Second))
		time.Sleep(hold)
		r.HoldSeconds = *flagHold
		open := 0
		for _, c := range conns {
			select {
			case <-c.done:
			default:
				open++
			}
		}
		r.OpenAtEnd = &open
	}
	closeAll(conns)
}

func settle() {
	time.Sleep(time.Duration(*flagSettle * float64(time.Second)))
}

func runBroadcast(r *result, tokens []string) {
	all, _, took := connectAll(tokens)
	conns := live(all)
	r.Connected, r.ConnectSeconds, r.Rate = len(conns), round(took.Seconds(), 3), *flagRate
	if len(conns) == 0 {
		return
	}
	for _, c := range conns {
		go c.readLoop(false)
	}
	settle()
	pub := conns[0]
	interval := time.Duration(float64(time.Second) / *flagRate)
	total := int64(*flagRate * *flagDuration)
	atomic.StoreInt32(&countOn, 1)
	start := time.Now()
	var sent int64
	for sent < total {
		if d := time.Until(start.Add(time.Duration(sent) * interval)); d > 0 {
			time.Sleep(d)
		}
		if err := pub.send("", sent); err != nil {
			noteErr("send: " + err.Error())
			break
		}
		sent++
	}
	sendEnd := time.Now()
	measure(r, conns, start, sendEnd, sent, sent*int64(len(conns)))
	closeAll(conns)
}

func runDirect(r *result, tokens []string) {
	all, _, took := connectAll(tokens)
	conns := live(all)
	r.Connected, r.ConnectSeconds, r.Rate = len(conns), round(took.Seconds(), 3), *flagRate
	if len(conns) < 2 {
		if len(conns) > 0 {
			closeAll(conns)
		}
		return
	}
	stopAcks := make(chan struct{})
	var ackWG sync.WaitGroup
	for _, c := range conns {
		go c.readLoop(*flagAck)
		if *flagAck {
			ackWG.Add(1)
			go c.ackLoop(stopAcks, &ackWG)
		}
	}
	settle()
	sustained := r.Mode == "sustained"
	var interval time.Duration
	if *flagRate > 0 {
		interval = time.Duration(float64(time.Second) / *flagRate)
	}
	var sent int64
	var wg sync.WaitGroup
	atomic.StoreInt32(&countOn, 1)
	start := time.Now()
	stopAt := start.Add(time.Duration(*flagDuration * float64(time.Second)))
	for i, c := range conns {
		wg.Add(1)
		go func(i int, c *conn) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i) + 1))
			// spread the senders over one interval so that they do not all fire together
			t0 := start
			if interval > 0 {
				t0 = start.Add(time.Duration(rng.Int63n(int64(interval))))
			}
			for k := int64(0); ; k++ {
				if !sustained && k >= int64(*flagMessages) {
					return
				}
				due := t0.Add(time.Duration(k) * interval)
				if sustained && !due.Before(stopAt) {
					return
				}
				if interval > 0 {
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				peer := pickPeer(conns, c, rng)
				if err := c.send(peer.user, k); err != nil {
					if atomic.LoadInt32(&c.closing) == 0 {
						noteErr("send: " + err.Error())
					}
					return
				}
				atomic.AddInt64(&sent, 1)
			}
		}(i, c)
	}
	wg.Wait()
	sendEnd := time.Now()
	n := atomic.LoadInt64(&sent)
	measure(r, conns, start, sendEnd, n, n)
	close(stopAcks) // one last ack of what is left
	ackWaited := make(chan struct{})
	go func() { ackWG.Wait(); close(ackWaited) }()
	select {
	case <-ackWaited:
	case <-time.After(5 * time.Second):
	}
	r.AckFrames, r.AckIDs = atomic.LoadInt64(&ctr.ackFrames), atomic.LoadInt64(&ctr.ackIDs)
	closeAll(conns)
}
