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
