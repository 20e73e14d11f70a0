package media

import "hotline/audio"

type toneSource struct{ g *audio.ToneGenerator }

func (t toneSource) Next(frame []int16) { t.g.Fill(frame) }

type samplesSource struct {
	s   []int16
	pos int
}

func (p *samplesSource) Next(frame []int16) {
	n := copy(frame, p.s[p.pos:])
	p.pos += n
	clear(frame[n:])
}

type silenceSource struct{}

func (silenceSource) Next(frame []int16) { clear(frame) }
