//! The script a text-to-speech voice reads on an alert call, in French.
//!
//! An alert's text is written for a screen: "RD 603 fermée 8h-12h, infos au 03 29 84 12 34".
//! Read as it is, a voice says "R D six cent trois" at best and "huit h douze h" at worst.
//! [`speakable`] rewrites it for the ear (times, dates, abbreviations, acronyms, phone numbers,
//! web addresses, punctuation) and [`Script`] wraps it in what every call says: who speaks, the
//! message twice, how to confirm (voice.md, "Behaviours communes rely on"). The result goes inside
//! a TwiML `<Say language="fr-FR">`, so it never holds `<`, `>`, `&` or a control character.
//!
//! Known limits: the rules look at words, not grammar. A day and month without a year ("5/3") is
//! read as a date only when the month has two digits or the word before is "le", "du", "au" or a
//! weekday, so that "7/7" and "1/2" stay as written. "m" after a number is left alone (metres or
//! minutes). A capitalised word of two to five letters that neither list below knows is spelt,
//! so a short French word shouted in capitals and missing from `SHOUTED_WORDS` is spelt too.
//! Every commune name beginning with H is taken to begin with a mute h ("d’Haudainville"), so
//! the few with an aspirated h get an elision they should not.

use std::time::Duration;

use unicode_normalization::UnicodeNormalization;

use super::french::{MONTHS, WEEKDAYS};
use words::{ABBREVIATIONS, Dot, KNOWN_DOMAINS, READ_AS_WORDS, ROADS, SHOUTED_WORDS, UNITS};

mod words;

/// What every call asks of the person who answers (voice.md).
const PROMPT: &str = "Tapez 1 pour confirmer la réception de ce message.";
const CLOSING: &str = "Fin du message. Au revoir.";
/// Said after a key press that confirmed.
const THANKS: &str = "Merci, votre confirmation est enregistrée. Au revoir.";
/// About how fast a French text-to-speech voice reads.
const WORDS_PER_MINUTE: usize = 150;

/// Marks after which a voice already pauses: a line ending with one needs no full stop.
const PAUSES: &str = ".!?…:;,";
/// Marks that end a sentence.
const STOPS: &str = ".!?…";
const DASHES: [char; 3] = ['-', '–', '—'];
/// Punctuation the rules read; every other symbol (emoji, arrows, stars, `<`, `>`) is silence.
const KEPT_PUNCTUATION: &str = ".,;:!?'’-–—()«»\"“”/@%&°+€_…";
/// What may open a word without being part of it.
const LEADING: &[char] = &['(', '«', '"', '“'];
/// What may close a word without being part of it (a dot may still belong to an abbreviation).
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', ')', '»', '"', '”', '…'];

/// The whole script of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub intro: String,
    pub message: String,
    pub prompt: String,
    pub closing: String,
}

impl Script {
    /// `commune`: the commune's display name, e.g. "Bras-sur-Meuse".
    pub fn new(commune: &str, text: &str) -> Script {
        Script {
            intro: format!(
                "Message de la mairie {}.",
                of_commune(&tidy(&clean_chars(commune)))
            ),
            message: speakable(text),
            prompt: PROMPT.to_owned(),
            closing: CLOSING.to_owned(),
        }
    }

    /// In the providers' terms, in French.
    pub fn for_providers(self) -> tocsin_providers::voice::CallScript {
        tocsin_providers::voice::CallScript {
            message: format!("{} {}", self.intro, self.message),
            prompt: self.prompt,
            closing: self.closing,
            thanks: THANKS.into(),
            language: "fr-FR".into(),
        }
    }

    /// As it is spoken: intro, message, prompt, played twice, then the closing sentence.
    pub fn spoken(&self) -> String {
        let once = [&self.intro, &self.message, &self.prompt];
        once.iter()
            .chain(once.iter())
            .copied()
            .chain([&self.closing])
            .filter(|part| !part.is_empty())
            .map(|part| sentence(part))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Words spoken in all (intro+message+prompt twice, closing once).
    pub fn words(&self) -> usize {
        words_in(&self.spoken())
    }

    /// At about 150 words a minute, rounded up to whole seconds.
    pub fn duration(&self) -> Duration {
        speaking_time(self.words())
    }

    /// How long the message speaks once (intro, message, prompt): a call that ends sooner was
    /// hung up before the callee heard it.
    pub fn message_duration(&self) -> Duration {
        let once = [&self.intro, &self.message, &self.prompt];
        speaking_time(once.iter().map(|part| words_in(part)).sum())
    }

    /// The minutes a call of it is billed for: every minute begun, at least one.
    pub fn minutes_begun(&self) -> i64 {
        (self.duration().as_secs().div_ceil(60) as i64).max(1)
    }
}

/// Words in a text; a lone mark ("!", ",") is no word.
fn words_in(text: &str) -> usize {
    text.split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .count()
}

/// At about 150 words a minute, rounded up to whole seconds.
fn speaking_time(words: usize) -> Duration {
    Duration::from_secs((words * 60).div_ceil(WORDS_PER_MINUTE) as u64)
}

/// "de Bras-sur-Meuse", "d’Étain", "du Havre", "des Éparges": the name after "la mairie", with
/// the elision and contraction French makes.
fn of_commune(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("Les ") {
        format!("des {rest}")
    } else if let Some(rest) = name.strip_prefix("Le ") {
        format!("du {rest}")
    } else if starts_with_vowel_sound(name) {
        format!("d’{name}")
    } else {
        format!("de {name}")
    }
}

/// A vowel, accented or not, or an h (taken as mute, see the module's known limits).
fn starts_with_vowel_sound(name: &str) -> bool {
    name.nfd()
        .next()
        .is_some_and(|c| "AEIOUYHaeiouyh".contains(c))
}

/// A part of the script ends with a full stop, so that the voice pauses before the next.
fn sentence(part: &str) -> String {
    if part.ends_with(|c| STOPS.contains(c)) {
        part.to_owned()
    } else {
        format!("{part}.")
    }
}

/// The alert's text made speakable in French.
pub fn speakable(text: &str) -> String {
    let text: String = text.nfc().collect();
    // Addresses first: their paths hold symbols that the cleaning below would turn into words.
    let clean = clean_chars(&addresses(&text));
    let (exercise, body) = exercise_prefix(&clean);
    tidy(&format!("{exercise}{}", read_words(&join_lines(body))))
}

/// Control characters become spaces and line separators newlines; symbols the voice cannot say
/// (emoji, arrows, stars) become spaces too, so that no two words are glued.
fn clean_chars(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => '\n',
            '‘' | '`' | 'ʼ' => '’',
            c if c.is_alphanumeric() || KEPT_PUNCTUATION.contains(c) => c,
            _ => ' ',
        })
        .collect()
}

/// An exercise's prefix "EXERCICE – " (`alert::EXERCISE_PREFIX`, or its GSM-7 form with `-`)
/// is said as a sentence of its own rather than shouted.
fn exercise_prefix(text: &str) -> (&'static str, &str) {
    let Some(rest) = text.trim_start().strip_prefix("EXERCICE") else {
        return ("", text);
    };
    match rest.trim_start().strip_prefix(DASHES) {
        Some(rest) => ("Exercice. ", rest),
        None => ("", text),
    }
}

/// A voice does not see line breaks: a line that does not end with a pause gets a full stop.
/// A list's leading dash is dropped.
fn join_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines().map(unbullet).filter(|line| !line.is_empty()) {
        if !out.is_empty() {
            if !out.ends_with(|c| PAUSES.contains(c)) {
                out.push('.');
            }
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

/// "- restez chez vous" → "restez chez vous"; "-5 °C" keeps its sign.
fn unbullet(line: &str) -> &str {
    let line = line.trim();
    match line.strip_prefix(DASHES) {
        Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => rest.trim_start(),
        _ => line,
    }
}

/// Every web or e-mail address in `text`, dictated; the rest as it is.
fn addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end_matches(char::is_whitespace);
        let chunk = Chunk::new(word);
        match web_address(chunk.core) {
            Some(spoken) => {
                out.push_str(chunk.lead);
                out.push_str(&spoken);
                out.push_str(chunk.trail);
                out.push_str(&piece[word.len()..]);
            }
            None => out.push_str(piece),
        }
    }
    out
}

/// Web and e-mail addresses as a person dictates them: "bras-sur-meuse point fr", "mairie
/// arobase bras point fr". A page's path is dropped: nobody types it from a call, the site is
/// enough.
fn web_address(core: &str) -> Option<String> {
    let lower = core.to_lowercase();
    if let Some((local, domain)) = lower.split_once('@') {
        let local_ok = !local.is_empty()
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || ".-_+".contains(c));
        return (local_ok && is_host(domain))
            .then(|| format!("{} arobase {}", dictate(local), dictate(domain)));
    }
    let after_scheme = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let address = after_scheme.unwrap_or(&lower);
    let host = address
        .split(['/', '?', '#', ':'])
        .next()
        .unwrap_or_default();
    let without_www = host.strip_prefix("www.");
    let host = without_www.unwrap_or(host);
    let explicit = after_scheme.is_some() || without_www.is_some();
    let known = KNOWN_DOMAINS.iter().any(|ending| host.ends_with(ending));
    (is_host(host) && (explicit || known)).then(|| dictate(host))
}

fn is_host(host: &str) -> bool {
    host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !host.contains("..")
        && host.chars().any(char::is_alphabetic)
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

fn dictate(part: &str) -> String {
    part.split('.')
        .collect::<Vec<_>>()
        .join(" point ")
        .replace('_', " tiret bas ")
}

/// A word as written between spaces: what opens it, its core, and what closes it.
#[derive(Clone, Copy, Debug)]
struct Chunk<'a> {
    lead: &'a str,
    core: &'a str,
    trail: &'a str,
}

impl<'a> Chunk<'a> {
    fn new(word: &'a str) -> Chunk<'a> {
        let rest = word.trim_start_matches(LEADING);
        let core = rest.trim_end_matches(TRAILING);
        Chunk {
            lead: &word[..word.len() - rest.len()],
            core,
            trail: &rest[core.len()..],
        }
    }

    /// Whether a reading may go on to the next word: no punctuation stands between them.
    fn runs_into(&self, next: &Chunk) -> bool {
        self.trail.is_empty() && next.lead.is_empty()
    }
}

/// What some words say, and how many of them it took.
struct Reading {
    text: String,
    used: usize,
    /// The dot after the last word was part of an abbreviation and is not said again.
    eats_dot: bool,
}

impl Reading {
    fn new(text: String, used: usize) -> Reading {
        Reading {
            text,
            used,
            eats_dot: false,
        }
    }
}

/// Reads the words one reading at a time, keeping what opens and closes each.
fn read_words(text: &str) -> String {
    let chunks: Vec<Chunk> = text.split_whitespace().map(Chunk::new).collect();
    let mut out = Vec::with_capacity(chunks.len());
    let mut i = 0;
    while i < chunks.len() {
        let previous = i.checked_sub(1).map(|p| &chunks[p]);
        let reading = read_at(&chunks[i..], previous)
            .unwrap_or_else(|| Reading::new(chunks[i].core.to_owned(), 1));
        let trail = chunks[i + reading.used - 1].trail;
        let trail = match trail.strip_prefix('.') {
            Some(rest) if reading.eats_dot => rest,
            _ => trail,
        };
        out.push(format!("{}{}{trail}", chunks[i].lead, reading.text));
        i += reading.used;
    }
    out.join(" ")
}

/// The first rule that reads the words at the start of `rest`; the longer patterns go first.
fn read_at(rest: &[Chunk], previous: Option<&Chunk>) -> Option<Reading> {
    phone_number(rest)
        .or_else(|| time(rest))
        .or_else(|| road(rest))
        .or_else(|| saint(rest))
        .or_else(|| measure(rest))
        .or_else(|| date(rest[0].core, previous).map(|text| Reading::new(text, 1)))
        .or_else(|| abbreviation(rest))
        .or_else(|| word(rest[0].core).map(|text| Reading::new(text, 1)))
}

/// A French phone number, read in groups with commas so that the voice pauses between them:
/// "03, 29, 84, 12, 34". Ten digits in one piece are read in pairs; a number written in groups
/// ("0 800 123 456") is read in those groups. "+33" becomes the 0 a caller here dials.
fn phone_number(rest: &[Chunk]) -> Option<Reading> {
    if let Some(groups) = phone_in_one(rest[0].core) {
        return Some(Reading::new(groups.join(", "), 1));
    }
    let international = rest[0].core == "+33";
    let mut groups: Vec<String> = Vec::new();
    let mut digits = usize::from(international);
    for (n, chunk) in rest.iter().enumerate().skip(digits) {
        let joined = n == 0 || rest[n - 1].runs_into(chunk);
        if !joined || !is_digits(chunk.core) || chunk.core.len() > 4 || digits >= 10 {
            return None;
        }
        groups.push(chunk.core.to_owned());
        digits += chunk.core.len();
        if digits == 10 {
            if international {
                groups[0].insert(0, '0');
            }
            return groups[0]
                .starts_with('0')
                .then(|| Reading::new(groups.join(", "), n + 1));
        }
    }
    None
}

/// "0329841234", "+33329841234", "03.29.84.12.34": a phone number written without spaces.
fn phone_in_one(core: &str) -> Option<Vec<String>> {
    if let Some(national) = core.strip_prefix("+33")
        && national.len() == 9
        && is_digits(national)
    {
        return Some(pairs(&format!("0{national}")));
    }
    if core.len() == 10 && is_digits(core) && core.starts_with('0') {
        return Some(pairs(core));
    }
    let groups: Vec<&str> = core.split(['.', '-']).collect();
    let ten_digits = groups.iter().map(|group| group.len()).sum::<usize>() == 10;
    (groups.len() > 1 && ten_digits && core.starts_with('0') && groups.iter().all(|g| is_digits(g)))
        .then(|| groups.iter().map(|group| group.to_string()).collect())
}

/// Ten ASCII digits as five pairs.
fn pairs(digits: &str) -> Vec<String> {
    (0..digits.len())
        .step_by(2)
        .map(|at| digits[at..(at + 2).min(digits.len())].to_owned())
        .collect()
}

/// A time of day or a number of hours.
#[derive(Clone, Copy)]
struct Clock {
    hours: u32,
    minutes: u32,
}

/// A time, alone or as a range: "8h30" → "8 heures 30", "8h-12h" or "8h - 12h" → "de 8 heures à
/// 12 heures".
fn time(rest: &[Chunk]) -> Option<Reading> {
    if let Some((from, to)) = rest[0].core.split_once(DASHES)
        && let (Some(from), Some(to)) = (clock(from), clock(to))
    {
        return Some(Reading::new(range(from, to), 1));
    }
    let (from, used) = clock_at(rest)?;
    if let [last, dash, after @ ..] = &rest[used - 1..]
        && last.runs_into(dash)
        && is_dash(dash.core)
        && let Some(first_after) = after.first()
        && dash.runs_into(first_after)
        && let Some((to, more)) = clock_at(after)
    {
        return Some(Reading::new(range(from, to), used + 1 + more));
    }
    Some(Reading::new(say_clock(from), used))
}

fn range(from: Clock, to: Clock) -> String {
    format!("de {} à {}", say_clock(from), say_clock(to))
}

/// A time in one word ("8h30", "8:30", "8h") or in two or three ("8 h", "8 h 30").
fn clock_at(rest: &[Chunk]) -> Option<(Clock, usize)> {
    if let Some(clock) = clock(rest[0].core) {
        return Some((clock, 1));
    }
    let [number, h, after @ ..] = rest else {
        return None;
    };
    if !(number.runs_into(h) && h.core == "h" && is_digits(number.core) && number.core.len() <= 2) {
        return None;
    }
    let hours = number.core.parse().ok()?;
    let minutes = after
        .first()
        .filter(|m| h.runs_into(m) && m.core.len() == 2 && is_digits(m.core) && hours < 24)
        .and_then(|m| m.core.parse::<u32>().ok())
        .filter(|&m| m < 60);
    let used = 2 + usize::from(minutes.is_some());
    let minutes = minutes.unwrap_or(0);
    Some((Clock { hours, minutes }, used))
}

/// "8h30", "8H30", "8:30", "18h00", "8h". Hours alone may exceed a day ("48h" is a duration);
/// with minutes they must make a time of day.
fn clock(core: &str) -> Option<Clock> {
    let at = core.find(['h', 'H', ':'])?;
    let (hours, minutes) = (&core[..at], &core[at + 1..]);
    if hours.len() > 2 || !is_digits(hours) {
        return None;
    }
    let hours = hours.parse().ok()?;
    if minutes.is_empty() {
        return (&core[at..] != ":").then_some(Clock { hours, minutes: 0 });
    }
    if minutes.len() != 2 || !is_digits(minutes) || hours > 23 {
        return None;
    }
    let minutes = minutes.parse().ok()?;
    (minutes < 60).then_some(Clock { hours, minutes })
}

/// "8 heures 30", "1 heure 15", "0 heure 30": French puts "heure" in the singular below 2.
/// Noon and midnight stay numbers: "12h" may be a duration ("coupure de 12h"), where "midi"
/// would be wrong, and "12 heures" is right either way.
fn say_clock(clock: Clock) -> String {
    let unit = if clock.hours < 2 { "heure" } else { "heures" };
    match clock.minutes {
        0 => format!("{} {unit}", clock.hours),
        minutes => format!("{} {unit} {minutes}", clock.hours),
    }
}

/// "RD 603", "RD603" → "route départementale 603"; "RN 3" → "route nationale 3".
fn road(rest: &[Chunk]) -> Option<Reading> {
    let core = rest[0].core;
    let (kind, number) = ROADS
        .iter()
        .find_map(|(written, spoken)| core.strip_prefix(written).map(|n| (*spoken, n)))?;
    if !number.is_empty() {
        // "RDV" is not a road.
        return is_digits(number).then(|| Reading::new(format!("{kind} {number}"), 1));
    }
    let next = rest
        .get(1)
        .filter(|next| rest[0].runs_into(next) && is_digits(next.core))?;
    Some(Reading::new(format!("{kind} {}", next.core), 2))
}

/// "St Mihiel" → "Saint Mihiel", "Ste-Menehould" → "Sainte-Menehould": only before a
/// capitalised name, the one place "St" means a saint.
fn saint(rest: &[Chunk]) -> Option<Reading> {
    let chunk = rest[0];
    let (written, spoken) = [("Ste", "Sainte"), ("St", "Saint")]
        .into_iter()
        .find(|(written, _)| chunk.core.starts_with(written))?;
    let after = &chunk.core[written.len()..];
    if let Some(name) = after.strip_prefix('-')
        && starts_upper(name)
    {
        return Some(Reading::new(format!("{spoken}-{name}"), 1));
    }
    let before_name = rest
        .get(1)
        .is_some_and(|next| next.lead.is_empty() && starts_upper(next.core));
    (after.is_empty() && matches!(chunk.trail, "" | ".") && before_name).then(|| Reading {
        text: spoken.to_owned(),
        used: 1,
        eats_dot: true,
    })
}

/// A number with its unit, glued ("50km/h", "-5°C", "n°12") or not ("5 km").
fn measure(rest: &[Chunk]) -> Option<Reading> {
    let core = rest[0].core;
    if let Some(number) = core.strip_prefix("n°").or_else(|| core.strip_prefix("N°"))
        && !number.is_empty()
    {
        return Some(Reading::new(format!("numéro {number}"), 1));
    }
    let (number, unit) = split_number(core)?;
    if !unit.is_empty() {
        return say_measure(number, unit).map(|text| Reading::new(text, 1));
    }
    let next = rest.get(1).filter(|next| rest[0].runs_into(next))?;
    say_measure(number, next.core).map(|text| Reading::new(text, 2))
}

/// "-1,5km" → ("-1,5", "km"): a sign, digits, a decimal part, then whatever follows.
fn split_number(core: &str) -> Option<(&str, &str)> {
    let unsigned = core.strip_prefix(['-', '+']).unwrap_or(core);
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let whole = digits(unsigned);
    if whole == 0 {
        return None;
    }
    let mut end = core.len() - unsigned.len() + whole;
    if let Some(fraction) = core[end..].strip_prefix([',', '.'])
        && digits(fraction) > 0
    {
        end += 1 + digits(fraction);
    }
    Some(core.split_at(end))
}

/// "5 kilomètres", "1,5 kilomètre", "moins 5 degrés": the unit in full, in the singular below 2
/// as French wants, and the sign in words.
fn say_measure(number: &str, unit: &str) -> Option<String> {
    let (_, one, many) = UNITS.iter().find(|(written, ..)| *written == unit)?;
    let (sign, magnitude) = match number.as_bytes()[0] {
        b'-' => ("moins ", &number[1..]),
        b'+' => ("plus ", &number[1..]),
        _ => ("", number),
    };
    let whole: u64 = magnitude.split([',', '.']).next()?.parse().ok()?;
    let unit = if whole < 2 { one } else { many };
    Some(format!("{sign}{magnitude} {unit}"))
}

/// "05/12/2026" → "5 décembre 2026", "1/12" → "premier décembre". An impossible date stays as
/// written. Without a year, see the module's known limits.
fn date(core: &str, previous: Option<&Chunk>) -> Option<String> {
    let separator = ['/', '.', '-'].into_iter().find(|&s| core.contains(s))?;
    let parts: Vec<&str> = core.split(separator).collect();
    if !parts.iter().all(|part| is_digits(part)) {
        return None;
    }
    let (day, month, year) = match parts[..] {
        [day, month, year] if matches!(year.len(), 2 | 4) => (day, month, Some(year)),
        [day, month] if separator == '/' && (month.len() == 2 || announces_date(previous)) => {
            (day, month, None)
        }
        _ => return None,
    };
    if day.len() > 2 || month.len() > 2 {
        return None;
    }
    let (day, month): (u32, usize) = (day.parse().ok()?, month.parse().ok()?);
    let days_in_month = match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    let day = if day == 1 {
        "premier".to_owned()
    } else {
        day.to_string()
    };
    let month = MONTHS[month - 1];
    Some(match year {
        Some(year) if year.len() == 2 => format!("{day} {month} 20{year}"),
        Some(year) => format!("{day} {month} {year}"),
        None => format!("{day} {month}"),
    })
}

/// "le 5/3", "du 5/3", "samedi 5/3": words after which a day and month are a date.
fn announces_date(previous: Option<&Chunk>) -> bool {
    previous.is_some_and(|word| {
        let word = word.core.to_lowercase();
        ["le", "du", "au"].contains(&word.as_str()) || WEEKDAYS.contains(&word.as_str())
    })
}

/// An abbreviation or symbol of [`ABBREVIATIONS`], with the dot that may belong to it.
fn abbreviation(rest: &[Chunk]) -> Option<Reading> {
    let chunk = rest[0];
    let dotted = chunk.trail.starts_with('.');
    let (_, spoken, dot) = ABBREVIATIONS.iter().find(|(written, _, dot)| {
        let same_word = *written == chunk.core
            || (written.starts_with(char::is_lowercase) && chunk.core.to_lowercase() == *written);
        same_word && (dotted || *dot != Dot::Must)
    })?;
    let ends_sentence = rest.get(1).is_none_or(|next| starts_upper(next.core));
    let eats_dot = match dot {
        Dot::No => false,
        Dot::Must | Dot::May => true,
        Dot::MayEnd => !ends_sentence,
    };
    Some(Reading {
        text: (*spoken).to_owned(),
        used: 1,
        eats_dot,
    })
}

/// A dash between words is a pause, a unit alone is said in full, a word in capitals is spelt or
/// lowered.
fn word(core: &str) -> Option<String> {
    if is_dash(core) {
        return Some(",".to_owned());
    }
    if let Some((.., many)) = UNITS.iter().find(|(written, ..)| *written == core) {
        return Some((*many).to_owned());
    }
    // "d’EDF", "L’ÉCOLE": the elided article stays, the word after it is read.
    let elision = core
        .char_indices()
        .find(|&(_, c)| c == '’' || c == '\'')
        .map(|(at, c)| at + c.len_utf8())
        .filter(|&end| core[..end].chars().count() == 2);
    match elision {
        Some(end) => capitals(&core[end..]).map(|word| format!("{}{word}", &core[..end])),
        None => capitals(core),
    }
}

/// Words in capitals. Two to five plain letters make an acronym, spelt so that the voice reads
/// its letters ("SMS" → "S M S"), unless it is said as a word ([`READ_AS_WORDS`], kept as
/// written) or is a short French word shouted ([`SHOUTED_WORDS`], lowered). Anything longer, or
/// with an accent, a hyphen or an apostrophe, is a shouted word: "URGENT" → "urgent".
fn capitals(word: &str) -> Option<String> {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    let all_capitals = word
        .chars()
        .all(|c| c.is_uppercase() || matches!(c, '-' | '’' | '\''));
    if letters < 2 || !all_capitals || READ_AS_WORDS.contains(&word) {
        return None;
    }
    let acronym = letters <= 5 && word.chars().all(|c| c.is_ascii_uppercase());
    if acronym && !SHOUTED_WORDS.contains(&word) {
        let letters: Vec<String> = word.chars().map(String::from).collect();
        return Some(letters.join(" "));
    }
    Some(word.to_lowercase())
}

/// The last pass: one space between words, none before a comma or a full stop, one mark where
/// the sender or the rules left several ("!!!", ", ."), and nothing XML reads as markup.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.replace('&', " et ").chars() {
        let before = out.trim_end();
        let after_mark = before.ends_with(|c| PAUSES.contains(c));
        match c {
            '<' | '>' => {}
            c if c.is_whitespace() || c.is_control() => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if STOPS.contains(c) => {
                // Nothing to end at the start, and one end is enough: "!!!" → "!".
                if before.is_empty() || before.ends_with(|c| STOPS.contains(c)) {
                    continue;
                }
                // A stop replaces the pause before it: "a, ." → "a.".
                let keep = if after_mark {
                    before.len() - 1
                } else {
                    out.len()
                };
                out.truncate(keep);
                if c == '.' || c == '…' || after_mark {
                    out.truncate(out.trim_end().len());
                }
                out.push(c);
            }
            c if PAUSES.contains(c) => {
                // Nothing to pause after at the start.
                if !after_mark && !before.is_empty() {
                    if c == ',' {
                        out.truncate(before.len());
                    }
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    // A pause with nothing after it would only delay the next sentence.
    out.trim_end()
        .trim_end_matches([',', ';', ':'])
        .trim()
        .to_owned()
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_dash(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| DASHES.contains(&c))
}

fn starts_upper(text: &str) -> bool {
    text.chars().next().is_some_and(char::is_uppercase)
}

#[cfg(test)]
mod tests;
