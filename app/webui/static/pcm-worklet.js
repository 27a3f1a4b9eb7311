// Microphone samples to 16-bit PCM in 100 ms packets. The AudioContext runs at 24 kHz (OpenAI's
// `audio/pcm` rate), so the browser has already resampled; this only converts and batches.
class PcmPackets extends AudioWorkletProcessor {
  constructor() {
    super();
    this.packet = new Int16Array(sampleRate / 10);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.packet[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.filled === this.packet.length) {
        this.port.postMessage(this.packet.buffer, [this.packet.buffer]);
        this.packet = new Int16Array(sampleRate / 10);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("pcm-packets", PcmPackets);
