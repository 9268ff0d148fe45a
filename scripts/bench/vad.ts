/**
 * `npm run bench:vad [-- --sets=real-ami,conversations,field]`
 *
 * Scores the speech front (gates → Silero → segmenter, exactly as a live conversation runs it,
 * with the server's default settings) on real and dev audio: missed and false-alarm speech, as
 * shares of the reference speech, 0.25 s collar, reference = union of all speakers. real-ami is
 * scored only inside its UEM (0–30 s); per file and pooled. The dev sets are pooled.
 *
 * The real-ami excerpts are only 30 s long, shorter than the history the conversation rules
 * learn from (30 s of levels; the noisy-room widening waits for 10 s of speech), so they are
 * also played twice in a row and scored on the second pass only ("real-ami, second pass"): a
 * longer stay in the same room, where those rules act with a settled speech level and floor.
 * The first 3 s after the join are left out of that score (the excerpt's last words run into
 * its first ones there).
 */
import { loadConfig } from '../../src/config.js';
import { addSpeechScores, falseAlarmRate, missedRate, scoreSpeech, type SpanS, type SpeechScore } from '../../src/eval/speech.js';
import { SpeechFront, speechFrontOptionsFromConfig } from '../../src/front/front.js';
import { SileroVad } from '../../src/vad/silero.js';
import { parseFlags } from './lib/args.js';
import { frontSpeechSpans } from './lib/front.js';
import { loadSetConversation, realAmiRecordings, setNames, type ConversationSet } from './lib/corpus-sets.js';

const args = parseFlags();
const sets = (args.sets ?? 'real-ami,conversations,field').split(',');
// Server settings may be overridden as flags, e.g. `--far-below-speech-db=15`.
const config = loadConfig(process.env, process.argv.slice(2));
const vad = new SileroVad();
await vad.load();

/** Detected speech of one recording: the speech bounds of every segment the front emits. */
function detect(audio: Float32Array): Promise<SpanS[]> {
  return frontSpeechSpans(new SpeechFront(vad.createStream(), speechFrontOptionsFromConfig(config)), audio);
}

const JOIN_S = 3;
const pc = (x: number) => `${(100 * x).toFixed(1)} %`;
const line = (name: string, s: SpeechScore) => `| ${name} | ${s.speechS.toFixed(1)} | ${pc(missedRate(s))} | ${pc(falseAlarmRate(s))} |`;
const pooled: Array<[string, SpeechScore]> = [];

try {
  console.log(`speech front: silence floor ${config.RMS_GATE_DBFS} dBFS, noise margin ${config.NOISE_MARGIN_DB} dB, far gate ${config.FAR_BELOW_SPEECH_DB || 'off'}${config.FAR_BELOW_SPEECH_DB ? ' dB' : ''}, segment level rule ${config.QUIET_BELOW_SEGMENT_DB || 'off'}${config.QUIET_BELOW_SEGMENT_DB ? ' dB' : ''}, noisy-room rule ${config.QUIET_BELOW_CONVERSATION_DB ? `${config.QUIET_BELOW_CONVERSATION_DB} dB under speech & ${config.CONVERSATION_FLOOR_MARGIN_DB} dB over floor (wider under ${config.NOISY_ROOM_SNR_DB || 'off'}${config.NOISY_ROOM_SNR_DB ? ' dB speech over floor' : ''})` : 'off'}, variance gate ${config.VARIANCE_GATE} dB², VAD threshold ${config.VAD_THRESHOLD}/${config.VAD_NEGATIVE_THRESHOLD}; collar 0.25 s`);
  console.log('');
  if (sets.includes('real-ami')) {
    console.log('| real-ami file | speech s | missed | false alarm |');
    console.log('|---|---|---|---|');
    const scores: SpeechScore[] = [];
    const again: SpeechScore[] = [];
    for (const rec of realAmiRecordings()) {
      const s = scoreSpeech(rec.reference, await detect(rec.audio), { uem: rec.uem });
      scores.push(s);
      console.log(line(rec.name, s));
      const n = rec.audio.length;
      const twice = new Float32Array(2 * n);
      twice.set(rec.audio);
      twice.set(rec.audio, n);
      const shift = (spans: SpanS[]) => spans.map((x) => ({ startS: x.startS + n / 16_000, endS: x.endS + n / 16_000 }));
      // The first 3 s after the join are not scored: speech at the excerpt's end runs into its start there.
      const uem = shift(rec.uem).map((x) => ({ startS: x.startS + JOIN_S, endS: x.endS })).filter((x) => x.endS > x.startS);
      again.push(scoreSpeech(shift(rec.reference), await detect(twice), { uem }));
    }
    const total = addSpeechScores(scores);
    console.log(line('**pooled**', total));
    pooled.push(['real-ami', total], ['real-ami, second pass (3–30 s)', addSpeechScores(again)]);
    console.log('');
  }
  for (const set of ['conversations', 'field'] as ConversationSet[]) {
    if (!sets.includes(set)) continue;
    const scores: SpeechScore[] = [];
    for (const name of setNames(set)) {
      const conv = loadSetConversation(set, name);
      scores.push(scoreSpeech(conv.reference, await detect(conv.audio), { uem: [{ startS: 0, endS: conv.audio.length / 16_000 }] }));
    }
    pooled.push([set, addSpeechScores(scores)]);
  }
  console.log('| set (pooled) | speech s | missed | false alarm |');
  console.log('|---|---|---|---|');
  for (const [name, s] of pooled) console.log(line(name, s));
  const ami = pooled.find(([n]) => n === 'real-ami')?.[1];
  if (ami) {
    console.log('');
    console.log(`target real-ami missed ≤ 6 %: ${missedRate(ami) <= 0.06 ? 'PASS' : 'FAIL'} (${pc(missedRate(ami))}); ` +
      `false alarm ≤ 5 %: ${falseAlarmRate(ami) <= 0.05 ? 'PASS' : 'FAIL'} (${pc(falseAlarmRate(ami))})`);
  }
} finally {
  await vad.close();
}
