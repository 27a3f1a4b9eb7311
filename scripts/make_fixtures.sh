#!/usr/bin/env bash
# Regenerates the synthetic speech fixtures in tests/fixtures (committed, so tests need no espeak).
# Needs Debian's espeak-ng and sox: apt-get install espeak-ng sox
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures"
say() {  # voice, words-per-minute, output, text
  espeak-ng -v "$1" -s "$2" -w /tmp/fixture-raw.wav "$4"
  sox /tmp/fixture-raw.wav -r 16000 -c 1 -b 16 "$3"
}
say en 130 en_fox.wav "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore."
say en 130 en_weather.wav "Good morning everyone. Today the weather is sunny and warm, so we will walk to the park after lunch."
say es 140 es_beach.wav "Hola, me llamo Carlos. Hoy hace buen tiempo y vamos a la playa con mis amigos."
say de 140 de_coffee.wav "Guten Morgen. Ich trinke jeden Tag einen Kaffee und lese die Zeitung."
# Two seconds of silence, for the no-speech path.
sox -n -r 16000 -c 1 -b 16 silence.wav trim 0 2
rm -f /tmp/fixture-raw.wav
# Three voices taking turns A B C A B, for diarization with an unknown speaker count.
espeak-ng -v en+m3 -s 130 -w /tmp/fixture-a.wav "Hello, my name is Adam and I work at the library in the centre of town."
espeak-ng -v en+f3 -s 140 -w /tmp/fixture-b.wav "Nice to meet you Adam. I am Beth, I teach mathematics at the school near the river."
espeak-ng -v en-us+m7 -s 120 -w /tmp/fixture-c.wav "And I am Carl. I drive the bus that takes both of you to work every morning."
sox /tmp/fixture-a.wav /tmp/fixture-b.wav /tmp/fixture-c.wav /tmp/fixture-a.wav /tmp/fixture-b.wav -r 16000 -c 1 -b 16 three_speakers.wav
rm -f /tmp/fixture-a.wav /tmp/fixture-b.wav /tmp/fixture-c.wav
