/**
 * UI strings in English and Korean, chosen once from the browser's language list.
 * `t(key, params)` fills `{name}` placeholders; static markup uses `data-i18n` attributes.
 */

const STRINGS = {
  en: {
    title: 'Duet — two-speaker transcription',
    appName: 'Duet',
    tagline: 'Two voices, one conversation, written down as it happens.',
    // Status bar
    connecting: 'Connecting…',
    reconnectingIn: 'Connection lost. Reconnecting in {s} s…',
    retryNow: 'Retry now',
    ready: 'Ready',
    modelsLine: 'Speech recognition: {asr} · Voices: {speaker} · VAD: {vad}',
    diarizationOnly: 'Diarization only (no speech recognition model loaded) · Voices: {speaker}',
    waitingModels: 'Connected, loading models…',
    // Problems
    notSecure:
      'This page is not on HTTPS, so the browser blocks the microphone. Open it through its https:// address (plain http only works on localhost).',
    noMediaDevices: 'This browser cannot use a microphone here. Try a current Chrome, Edge, Firefox or Safari over HTTPS.',
    micDenied:
      'Microphone access was denied. Allow the microphone for this site (the icon in the address bar or the site settings), then try again.',
    micMissing: 'No microphone was found. Connect one or check your system sound settings, then try again.',
    micBusy: 'The microphone could not be started. It may be in use by another app; close it and try again.',
    micFailed: 'The microphone could not be started: {detail}',
    serverUnreachable: 'Cannot reach the server. Check that it is running and that this address is right. Retrying in {s} s…',
    wrongToken:
      'Access denied: the access token is missing or wrong. Check the token / link — open the full link the server printed (it ends with ?token=…).',
    deniedShort: 'Access denied — check the token / link',
    serverBusy: 'The server refused the connection: all {max} session slots are in use. Retrying in {s} s…',
    serverRefused: 'The server refused the connection. Retrying in {s} s…',
    connectionReset: 'The connection was interrupted, so the server forgot the registered voices. Please record them again.',
    slowNetwork: 'The network is slow: audio is piling up before it reaches the server.',
    serverError: 'Server: {message}',
    // Voices
    voicesTitle: 'Register voices',
    voicesHint: 'Each person talks normally for about 5 seconds, one after the other. Use a quiet room.',
    speakerDefault: 'Speaker {n}',
    nameLabel: 'Name',
    recordVoice: 'Record voice',
    reRecord: 'Record again',
    recording: 'Recording…',
    done: 'Done',
    notRegistered: 'Not registered yet',
    speakNow: 'Speak now… {s} s',
    keepTalking: 'Good. Press Done, or keep talking (stops by itself at {max} s).',
    checking: 'Checking the voice…',
    registered: 'Voice registered · {s} s of speech',
    failedTooShort: 'Not enough speech was heard. Record again and talk for at least 5 seconds without long pauses.',
    failedTooQuiet: 'The recording was too quiet. Move closer to the microphone or speak up, then record again.',
    failedTooSimilar:
      'This voice sounds too much like the other speaker. Make sure the other person is talking this time, then record again.',
    failedOther: 'Registration failed: {message}',
    levelLabel: 'Microphone level',
    // Conversation
    conversationTitle: 'Conversation',
    language: 'Language',
    langAuto: 'Detect automatically',
    start: 'Start',
    stop: 'Stop',
    stopping: 'Finishing…',
    startHintRegister: 'Register both voices to start.',
    startHintReady: 'Press Start and talk. Esc or Stop ends the conversation.',
    listening: 'Listening… press Esc or Stop to end.',
    finishing: 'Finishing the last sentences…',
    stoppedSummary: 'Conversation ended · {n} messages',
    copy: 'Copy text',
    download: 'Download .txt',
    copied: 'Conversation copied to the clipboard.',
    copyFailed: 'Copying failed; use Download instead.',
    nothingToExport: 'There is nothing to copy yet.',
    emptyChat: 'Messages will appear here, speaker 1 on the left and speaker 2 on the right.',
    unknownSpeaker: 'Unknown speaker',
    noAsr: '(no speech recognition — diarization only)',
    noText: '…',
    typing: 'transcribing',
    jumpLatest: 'New messages ↓',
    conversationStarted: 'Conversation started at {time}',
    // Settings
    settings: 'Settings',
    audioProcessing: 'Echo cancellation, noise suppression and automatic gain',
    audioProcessingHint: 'Off gives the most faithful voice registration. Turn on for speakerphones or noisy rooms.',
    micOff: 'Microphone off',
    micOn: 'Microphone on · {rate} Hz',
    // Files
    filesTitle: 'Transcribe a recording',
    filesHint: 'Audio or video files (MP3, M4A, WAV, OGG, FLAC, WebM, MP4, MOV, MKV). The two voices are told apart without registration.',
    dropHere: 'Drop files here or click to choose',
    speakersLabel: 'Speakers',
    speakersTwo: 'Two',
    speakersOne: 'One',
    fileWaiting: 'Waiting',
    fileUploading: 'Uploading… {p} %',
    fileQueued: 'Queued on the server',
    fileProcessing: 'Processing… {p} % · {left} left',
    fileProcessingNoEta: 'Processing… {p} %',
    fileDone: 'Done · {d} · {n} speaker(s)',
    fileFailed: 'Failed: {message}',
    fileCancelled: 'Cancelled',
    fileTooLarge: 'The file is larger than the server accepts.',
    fileOpen: 'Open',
    fileCancel: 'Cancel',
    fileExport: 'Download .{f}',
  },
  ko: {
    title: 'Duet — 2인 대화 받아쓰기',
    appName: 'Duet',
    tagline: '두 사람의 대화를 실시간으로 기록합니다.',
    connecting: '연결 중…',
    reconnectingIn: '연결이 끊어졌습니다. {s}초 후 다시 연결합니다…',
    retryNow: '지금 다시 시도',
    ready: '준비됨',
    modelsLine: '음성 인식: {asr} · 화자: {speaker} · VAD: {vad}',
    diarizationOnly: '화자 구분만 가능 (음성 인식 모델 없음) · 화자: {speaker}',
    waitingModels: '연결됨, 모델을 불러오는 중…',
    notSecure:
      '이 페이지는 HTTPS가 아니어서 브라우저가 마이크를 차단합니다. https:// 주소로 여세요 (http는 localhost에서만 됩니다).',
    noMediaDevices: '이 브라우저에서는 마이크를 쓸 수 없습니다. 최신 Chrome, Edge, Firefox, Safari에서 HTTPS로 여세요.',
    micDenied: '마이크 권한이 거부되었습니다. 주소창의 아이콘이나 사이트 설정에서 마이크를 허용한 뒤 다시 시도하세요.',
    micMissing: '마이크를 찾을 수 없습니다. 마이크를 연결하거나 시스템 사운드 설정을 확인한 뒤 다시 시도하세요.',
    micBusy: '마이크를 시작할 수 없습니다. 다른 앱이 사용 중일 수 있으니 닫고 다시 시도하세요.',
    micFailed: '마이크를 시작할 수 없습니다: {detail}',
    serverUnreachable: '서버에 연결할 수 없습니다. 서버가 실행 중인지, 주소가 맞는지 확인하세요. {s}초 후 다시 시도합니다…',
    wrongToken:
      '접근이 거부되었습니다: 토큰이 없거나 틀렸습니다. 토큰 / 링크를 확인하세요 — 서버가 출력한 전체 링크(?token=… 으로 끝남)를 여세요.',
    deniedShort: '접근 거부됨 — 토큰 / 링크를 확인하세요',
    serverBusy: '서버가 연결을 거부했습니다: 세션 {max}개가 모두 사용 중입니다. {s}초 후 다시 시도합니다…',
    serverRefused: '서버가 연결을 거부했습니다. {s}초 후 다시 시도합니다…',
    connectionReset: '연결이 끊겨 서버가 등록된 목소리를 잊었습니다. 다시 녹음해 주세요.',
    slowNetwork: '네트워크가 느려 오디오가 서버로 가기 전에 쌓이고 있습니다.',
    serverError: '서버: {message}',
    voicesTitle: '목소리 등록',
    voicesHint: '한 사람씩 차례로 5초 정도 평소처럼 말하세요. 조용한 곳이 좋습니다.',
    speakerDefault: '화자 {n}',
    nameLabel: '이름',
    recordVoice: '목소리 녹음',
    reRecord: '다시 녹음',
    recording: '녹음 중…',
    done: '완료',
    notRegistered: '아직 등록되지 않음',
    speakNow: '말씀하세요… {s}초',
    keepTalking: '좋습니다. 완료를 누르거나 계속 말하세요 ({max}초에 자동으로 끝납니다).',
    checking: '목소리를 확인하는 중…',
    registered: '목소리 등록됨 · 음성 {s}초',
    failedTooShort: '말소리가 충분하지 않았습니다. 긴 쉼 없이 5초 이상 말하며 다시 녹음하세요.',
    failedTooQuiet: '소리가 너무 작았습니다. 마이크에 가까이 가거나 더 크게 말하고 다시 녹음하세요.',
    failedTooSimilar: '다른 화자의 목소리와 너무 비슷합니다. 이번에는 다른 사람이 말하는지 확인하고 다시 녹음하세요.',
    failedOther: '등록 실패: {message}',
    levelLabel: '마이크 입력 크기',
    conversationTitle: '대화',
    language: '언어',
    langAuto: '자동 감지',
    start: '시작',
    stop: '중지',
    stopping: '마무리 중…',
    startHintRegister: '두 목소리를 모두 등록하면 시작할 수 있습니다.',
    startHintReady: '시작을 누르고 대화하세요. Esc 또는 중지로 끝냅니다.',
    listening: '듣는 중… Esc 또는 중지를 눌러 끝내세요.',
    finishing: '마지막 문장을 처리하는 중…',
    stoppedSummary: '대화 종료 · 메시지 {n}개',
    copy: '텍스트 복사',
    download: '.txt 다운로드',
    copied: '대화를 클립보드에 복사했습니다.',
    copyFailed: '복사하지 못했습니다. 다운로드를 이용하세요.',
    nothingToExport: '아직 복사할 내용이 없습니다.',
    emptyChat: '메시지가 여기에 표시됩니다. 화자 1은 왼쪽, 화자 2는 오른쪽입니다.',
    unknownSpeaker: '알 수 없는 화자',
    noAsr: '(음성 인식 없음 — 화자 구분만)',
    noText: '…',
    typing: '받아쓰는 중',
    jumpLatest: '새 메시지 ↓',
    conversationStarted: '대화 시작 {time}',
    settings: '설정',
    audioProcessing: '에코 제거, 잡음 억제, 자동 음량 조절',
    audioProcessingHint: '끄면 목소리 등록이 가장 정확합니다. 스피커폰이나 시끄러운 곳에서는 켜세요.',
    micOff: '마이크 꺼짐',
    micOn: '마이크 켜짐 · {rate} Hz',
    // Files
    filesTitle: '녹음 파일 받아쓰기',
    filesHint: '오디오·동영상 파일 (MP3, M4A, WAV, OGG, FLAC, WebM, MP4, MOV, MKV). 목소리 등록 없이 두 화자를 구분합니다.',
    dropHere: '파일을 여기에 끌어 놓거나 클릭해서 고르세요',
    speakersLabel: '화자 수',
    speakersTwo: '두 명',
    speakersOne: '한 명',
    fileWaiting: '대기 중',
    fileUploading: '올리는 중… {p} %',
    fileQueued: '서버에서 대기 중',
    fileProcessing: '처리 중… {p} % · 남은 시간 {left}',
    fileProcessingNoEta: '처리 중… {p} %',
    fileDone: '완료 · {d} · 화자 {n}명',
    fileFailed: '실패: {message}',
    fileCancelled: '취소됨',
    fileTooLarge: '서버가 받을 수 있는 크기보다 큰 파일입니다.',
    fileOpen: '열기',
    fileCancel: '취소',
    fileExport: '.{f} 다운로드',
  },
};

/** The UI language: the first of the browser's preferred languages we have strings for. */
export const lang = (() => {
  const prefs = navigator.languages && navigator.languages.length > 0 ? navigator.languages : [navigator.language || 'en'];
  for (const p of prefs) {
    const base = String(p).toLowerCase().split('-')[0];
    if (base in STRINGS) return base;
  }
  return 'en';
})();

/** The string for `key` in the UI language, with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const template = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Fills every `[data-i18n]` element's text and `[data-i18n-label]` element's aria-label. */
export function applyStaticStrings(root = document) {
  document.documentElement.lang = lang;
  document.title = t('title');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}
