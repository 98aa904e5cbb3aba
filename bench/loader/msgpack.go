// The MessagePack subset the loader needs for -format msgpack (Momentum's subprotocol
// momentum.msgpack): writing its two envelopes, and finding message_type, id, data.t and
// data.code in what the server sends, skipping everything else.
//
// Written by hand rather than with a library (Debian has golang-github-ugorji-go-codec-dev,
// not vmihailenco/msgpack): the JSON side of the loader does not decode envelopes either,
// it scans them for four fields, so both formats cost the loader about the same and the
// benchmark compares the servers, not two Go decoders.
package main

import (
	"encoding/binary"
	"errors"
	"math"
)

var errMsgpack = errors.New("malformed MessagePack")

func mpStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 1<<8:
		b = append(b, 0xd9, byte(n))
	case n < 1<<16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

func mpInt(b []byte, v int64) []byte {
	if v >= 0 && v < 128 {
		return append(b, byte(v))
	}
	b = append(b, 0xd3)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

// mpHeader appends a map (0x80, 0xde) or array (0x90, 0xdc) header of n entries.
func mpHeader(b []byte, fix, wide byte, n int) []byte {
	if n < 16 {
		return append(b, fix|byte(n))
	}
	return append(b, wide, byte(n>>8), byte(n))
}

// mpStart opens an envelope of `fields` fields: message_type `kind`, then data, a map of
// `dataFields` entries that the caller writes next (and then the envelope's other fields).
func mpStart(b []byte, fields int, kind string, dataFields int) []byte {
	b = mpHeader(b, 0x80, 0xde, fields)
	b = mpStr(b, "message_type")
	b = mpStr(b, kind)
	b = mpStr(b, "data")
	return mpHeader(b, 0x80, 0xde, dataFields)
}

// mpText is the msgpack twin of send's JSON text envelope.
func mpText(to string, stamp, seq int64) []byte {
	b := mpStart(make([]byte, 0, 96+len(filler)), 3, "text", 3)
	b = mpStr(b, "content")
	b = mpStr(b, filler)
	b = mpStr(b, "t")
	b = mpInt(b, stamp)
	b = mpStr(b, "s")
	b = mpInt(b, seq)
	b = mpStr(b, "to_user_id")
	if to == "" {
		return append(b, 0xc0)
	}
	return mpStr(b, to)
}

// mpAck is the msgpack twin of the JSON ack envelope.
func mpAck(ids []string) []byte {
	b := mpStart(make([]byte, 0, 32+40*len(ids)), 2, "ack", 1)
	b = mpStr(b, "ids")
	b = mpHeader(b, 0x90, 0xdc, len(ids))
	for _, id := range ids {
		b = mpStr(b, id)
	}
	return b
}

// envelope is what the reader needs of a server frame, in either format.
type envelope struct {
	kind, id, code []byte
	stamp          int64
	stamped        bool
}

type mpReader struct {
	b []byte
	i int
}

func (r *mpReader) byte1() (byte, error) {
	if r.i >= len(r.b) {
		return 0, errMsgpack
	}
	r.i++
	return r.b[r.i-1], nil
}

func (r *mpReader) take(n int) ([]byte, error) {
	if n < 0 || r.i+n > len(r.b) {
		return nil, errMsgpack
	}
	r.i += n
	return r.b[r.i-n : r.i], nil
}

func (r *mpReader) uint(size int) (uint64, error) {
	p, err := r.take(size)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// head reads a value's first byte(s): its kind ('s' str, 'i' int, 'm' map, 'a' array,
// 'x' anything else, already skipped), its length (str, map, array) or value (int).
func (r *mpReader) head() (byte, int64, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, 0, err
	}
	sized := func(kind byte, size int) (byte, int64, error) {
		n, err := r.uint(size)
		return kind, int64(n), err
	}
	skip := func(n int) (byte, int64, error) {
		_, err := r.take(n)
		return 'x', 0, err
	}
	switch {
	case c < 0x80:
		return 'i', int64(c), nil
	case c >= 0xe0:
		return 'i', int64(int8(c)), nil
	case c < 0x90:
		return 'm', int64(c & 0x0f), nil
	case c < 0xa0:
		return 'a', int64(c & 0x0f), nil
	case c < 0xc0:
		return 's', int64(c & 0x1f), nil
	}
	switch c {
	case 0xc0, 0xc2, 0xc3:
		return 'x', 0, nil
	case 0xd9, 0xda, 0xdb:
		return sized('s', 1<<(c-0xd9))
	case 0xc4, 0xc5, 0xc6: // bin
		k, n, err := sized('x', 1<<(c-0xc4))
		if err == nil {
			_, err = r.take(int(n))
		}
		return k, 0, err
	case 0xca:
		return skip(4)
	case 0xcb:
		return skip(8)
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uint(1 << (c - 0xcc))
		if v > math.MaxInt64 {
			return 'x', 0, err
		}
		return 'i', int64(v), err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		v, err := r.uint(size)
		shift := 64 - 8*size
		return 'i', int64(v<<shift) >> shift, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext
		return skip(1 + 1<<(c-0xd4))
	case 0xc7, 0xc8, 0xc9: // ext
		_, n, err := sized('x', 1<<(c-0xc7))
		if err == nil {
			_, err = r.take(int(n) + 1)
		}
		return 'x', 0, err
	case 0xdc, 0xdd:
		return sized('a', 2<<(c-0xdc))
	case 0xde, 0xdf:
		return sized('m', 2<<(c-0xde))
	}
	return 0, 0, errMsgpack
}

// skip passes over one value whose head was read.
func (r *mpReader) skip(kind byte, n int64) error {
	switch kind {
	case 's':
		_, err := r.take(int(n))
		return err
	case 'a', 'm':
		if kind == 'm' {
			n *= 2
		}
		for ; n > 0; n-- {
			k, m, err := r.head()
			if err == nil {
				err = r.skip(k, m)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// str reads one value, a str or anything else (nil then).
func (r *mpReader) str() ([]byte, error) {
	kind, n, err := r.head()
	if err != nil || kind != 's' {
		return nil, r.orSkip(kind, n, err)
	}
	return r.take(int(n))
}

func (r *mpReader) orSkip(kind byte, n int64, err error) error {
	if err != nil {
		return err
	}
	return r.skip(kind, n)
}

// mpEnvelope reads the fields the loader needs out of one MessagePack envelope.
func mpEnvelope(msg []byte) (envelope, error) {
	var e envelope
	r := &mpReader{b: msg}
	kind, n, err := r.head()
	if err != nil || kind != 'm' {
		return e, errMsgpack
	}
	for ; n > 0; n-- {
		key, err := r.str()
		if err != nil {
			return e, err
		}
		switch string(key) {
		case "message_type":
			e.kind, err = r.str()
		case "id":
			e.id, err = r.str()
		case "data":
			err = r.data(&e)
		default:
			err = r.orSkip(r.head())
		}
		if err != nil {
			return e, err
		}
	}
	return e, nil
}

func (r *mpReader) data(e *envelope) error {
	kind, n, err := r.head()
	if err != nil || kind != 'm' {
		return r.orSkip(kind, n, err)
	}
	for ; n > 0; n-- {
		key, err := r.str()
		if err != nil {
			return err
		}
		switch string(key) {
		case "t":
			var k byte
			k, e.stamp, err = r.head()
			e.stamped = err == nil && k == 'i'
			if err == nil && k != 'i' {
				err = r.skip(k, e.stamp)
			}
		case "code":
			e.code, err = r.str()
		default:
			err = r.orSkip(r.head())
		}
		if err != nil {
			return err
		}
	}
	return nil
}
