package auditverify

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is the C2SP tlog-tiles tile height: 256 hashes or entries.
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
)

// TilePath returns the tlog-tiles path of the hash tile at level, index,
// holding width hashes (width 256 is a full tile, with no .p/ suffix).
func TilePath(level int, index uint64, width int) string {
	return fmt.Sprintf("tile/%d/%s", level, indexPath(index, width))
}

// BundlePath returns the tlog-tiles path of entry bundle index holding
// width entries.
func BundlePath(index uint64, width int) string {
	return "tile/entries/" + indexPath(index, width)
}

func indexPath(n uint64, width int) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	if width > 0 && width < tileWidth {
		s += fmt.Sprintf(".p/%d", width)
	}
	return s
}

// readTile reads the tile at path with exactly width items of size each,
// falling back from a partial tile to the full one (tlog-tiles lets a log
// drop partials once the full tile exists). A full tile served for a
// partial request is cut to its first width items.
func readTile(ctx context.Context, src Source, path, fullPath string, width int) ([]byte, string, error) {
	b, err := src.Read(ctx, path)
	if err != nil && path != fullPath && isNotExist(err) {
		if fb, ferr := src.Read(ctx, fullPath); ferr == nil {
			return fb, fullPath, nil
		}
	}
	if err != nil {
		return nil, path, err
	}
	return b, path, nil
}

// ReadBundle returns the entries of bundle index, which must hold width
// entries in a tree of the checkpoint's size.
func ReadBundle(ctx context.Context, src Source, index uint64, width int) ([][]byte, error) {
	b, path, err := readTile(ctx, src, BundlePath(index, width), BundlePath(index, 0), width)
	if err != nil {
		return nil, err
	}
	var entries [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("entry bundle %s: truncated length after entry %d", path, index*tileWidth+uint64(len(entries)))
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, fmt.Errorf("entry bundle %s: entry %d is truncated", path, index*tileWidth+uint64(len(entries)))
		}
		entries = append(entries, b[2:2+n])
		b = b[2+n:]
	}
	if len(entries) < width {
		return nil, fmt.Errorf("entry bundle %s holds %d entries, want %d: entries %d to %d are missing",
			path, len(entries), width, index*tileWidth+uint64(len(entries)), index*tileWidth+uint64(width)-1)
	}
	return entries[:width], nil
}

// ReadEntry returns entry i of a tree of size n.
func ReadEntry(ctx context.Context, src Source, n, i uint64) ([]byte, error) {
	if i >= n {
		return nil, fmt.Errorf("entry %d is beyond the tree size %d", i, n)
	}
	bundle := i / tileWidth
	entries, err := ReadBundle(ctx, src, bundle, bundleWidth(n, bundle))
	if err != nil {
		return nil, err
	}
	return entries[i%tileWidth], nil
}

// bundleWidth is how many entries bundle index holds in a tree of size n.
func bundleWidth(n, index uint64) int {
	return int(min(n-index*tileWidth, tileWidth))
}

// VerifyTree recomputes the whole tree of c and compares it with every
// stored hash tile and with c's root hash.
//
// With entries true the leaves are hashed from the entry bundles (which
// needs auditor access), and each is passed to each (which may be nil)
// in order; an error from each stops the walk. With entries false the
// leaves are read from the level-0 hash tiles, so that anyone can check
// that the public tiles are the tree the checkpoint commits to.
func VerifyTree(ctx context.Context, src Source, c Checkpoint, entries bool, each func(index uint64, entry []byte) error) error {
	hasher := rfc6962.DefaultHasher
	rf := compact.RangeFactory{Hash: hasher.HashChildren}
	r := rf.NewEmptyRange(0)

	// pending[k] collects the level-k tile being recomputed; every node at
	// a height that is a multiple of 8 belongs in a tile.
	pending := map[int]*bytes.Buffer{}
	var failed error
	check := func(level int, index uint64, width int, want []byte) {
		if failed != nil {
			return
		}
		path := TilePath(level, index, width)
		got, from, err := readTile(ctx, src, path, TilePath(level, index, 0), width)
		if err != nil {
			failed = fmt.Errorf("tile %s: %w", path, err)
			return
		}
		if len(got) < len(want) {
			failed = fmt.Errorf("tile %s holds %d hashes, want %d", from, len(got)/tlog.HashSize, width)
			return
		}
		if from == path && len(got) != len(want) {
			failed = fmt.Errorf("tile %s holds %d bytes, want %d", from, len(got), len(want))
			return
		}
		for i := 0; i < width; i++ {
			g, w := got[i*tlog.HashSize:(i+1)*tlog.HashSize], want[i*tlog.HashSize:(i+1)*tlog.HashSize]
			if !bytes.Equal(g, w) {
				what := fmt.Sprintf("the hash of entry %d", index*tileWidth+uint64(i))
				if level > 0 {
					what = fmt.Sprintf("the tree recomputed below it (level-%d node %d)", level*tileHeight, index*tileWidth+uint64(i))
				}
				failed = fmt.Errorf("tile %s: hash %d differs from %s", from, i, what)
				return
			}
		}
	}
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level%tileHeight != 0 {
			return
		}
		level := int(id.Level / tileHeight)
		if level == 0 && !entries {
			return // the leaves came from the level-0 tiles themselves
		}
		buf := pending[level]
		if buf == nil {
			buf = new(bytes.Buffer)
			pending[level] = buf
		}
		buf.Write(hash)
		if buf.Len() == tileWidth*tlog.HashSize {
			check(level, id.Index/tileWidth, tileWidth, buf.Bytes())
			buf.Reset()
		}
	}

	for b := uint64(0); b*tileWidth < c.Size; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		width := bundleWidth(c.Size, b)
		var leaves [][]byte
		if entries {
			es, err := ReadBundle(ctx, src, b, width)
			if err != nil {
				return err
			}
			for i, e := range es {
				idx := b*tileWidth + uint64(i)
				if each != nil {
					if err := each(idx, e); err != nil {
						return fmt.Errorf("entry %d: %w", idx, err)
					}
				}
				leaves = append(leaves, hasher.HashLeaf(e))
			}
		} else {
			path := TilePath(0, b, width)
			t, from, err := readTile(ctx, src, path, TilePath(0, b, 0), width)
			if err != nil {
				return fmt.Errorf("tile %s: %w", path, err)
			}
			if len(t) < width*tlog.HashSize || (from == path && len(t) != width*tlog.HashSize) {
				return fmt.Errorf("tile %s holds %d bytes, want %d hashes", from, len(t), width)
			}
			for i := range width {
				leaves = append(leaves, t[i*tlog.HashSize:(i+1)*tlog.HashSize])
			}
		}
		for _, h := range leaves {
			if err := r.Append(h, visit); err != nil {
				return err
			}
			if failed != nil {
				return failed
			}
		}
	}
	// Compare the partial tiles at the right edge of the tree.
	for level, buf := range pending {
		if buf.Len() > 0 {
			nodes := c.Size >> (tileHeight * level)
			check(level, nodes/tileWidth, int(nodes%tileWidth), buf.Bytes())
		}
	}
	if failed != nil {
		return failed
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return err
	}
	if c.Size == 0 {
		root = hasher.EmptyRoot()
	}
	if !bytes.Equal(root, c.Hash[:]) {
		from := "entries"
		if !entries {
			from = "level-0 hash tiles"
		}
		return fmt.Errorf("root hash recomputed from the %d %s is %x, but the checkpoint says %x: the log's contents differ from what was signed", c.Size, from, root, c.Hash[:])
	}
	return nil
}

// tileReader adapts a Source to tlog.TileReader, for proofs.
type tileReader struct {
	ctx context.Context
	src Source
}

func (t *tileReader) Height() int { return tileHeight }

func (t *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		if tile.L < 0 {
			return nil, errors.New("proofs need no entry bundles")
		}
		path := TilePath(tile.L, uint64(tile.N), tile.W)
		b, _, err := readTile(t.ctx, t.src, path, TilePath(tile.L, uint64(tile.N), 0), tile.W)
		if err != nil {
			return nil, fmt.Errorf("tile %s: %w", path, err)
		}
		if len(b) < tile.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s holds %d hashes, want %d", path, len(b)/tlog.HashSize, tile.W)
		}
		out[i] = b[:tile.W*tlog.HashSize]
	}
	return out, nil
}

func (t *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// hashReader returns a tlog.HashReader over src's tiles that checks every
// tile it reads against c's root hash.
func hashReader(ctx context.Context, src Source, c Checkpoint) tlog.HashReader {
	return tlog.TileHashReader(c.Tree(), &tileReader{ctx: ctx, src: src})
}

// CheckConsistency checks that cur extends old: same origin, no smaller
// size, and a consistency proof built from src's tiles (checked against
// cur) that links old's root to cur's. A failure means the log was rolled
// back or forked.
func CheckConsistency(ctx context.Context, src Source, old, cur Checkpoint) error {
	switch {
	case old.Origin != cur.Origin:
		return fmt.Errorf("checkpoint origin %q differs from the remembered origin %q", cur.Origin, old.Origin)
	case cur.Size < old.Size:
		return fmt.Errorf("log rolled back: checkpoint size %d is smaller than the remembered size %d", cur.Size, old.Size)
	case cur.Size == old.Size:
		if cur.Hash != old.Hash {
			return fmt.Errorf("log forked: checkpoint of size %d has root %x, but the remembered checkpoint of the same size has root %x", cur.Size, cur.Hash[:], old.Hash[:])
		}
		return nil
	case old.Size == 0:
		return nil
	}
	p, err := tlog.ProveTree(int64(cur.Size), int64(old.Size), hashReader(ctx, src, cur))
	if err != nil {
		return fmt.Errorf("couldn't build a consistency proof from size %d to %d: %w", old.Size, cur.Size, err)
	}
	if err := tlog.CheckTree(p, int64(cur.Size), cur.Hash, int64(old.Size), old.Hash); err != nil {
		return fmt.Errorf("log forked: checkpoint of size %d (root %x) is not consistent with the remembered checkpoint of size %d (root %x): %w",
			cur.Size, cur.Hash[:], old.Size, old.Hash[:], err)
	}
	return nil
}
