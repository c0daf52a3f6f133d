package mojoserve;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A strict, streaming CSV reader (RFC 4180: comma separated, double-quoted fields, doubled
 * quotes inside quotes, line breaks inside quotes) over a range of decoded characters.
 *
 * <p>Records are read one at a time and only the wanted fields become strings, so a big
 * document never exists as a table of strings. An empty field reads as {@code null} (missing);
 * blank lines are skipped. Problems raise {@link CsvFormatException} with the physical line.
 */
final class CsvReader {
  private final char[] text;
  private final int end;
  private int pos;
  private long line;
  private final StringBuilder field = new StringBuilder();
  private boolean[] numeric;
  private double[] numbers;

  /** Physical line, start and end (before the line break) of the last record read. */
  long recordLine;

  int recordStart;
  int recordEnd;

  CsvReader(char[] text, int from, int to, long firstLine) {
    this.text = text;
    this.pos = from;
    this.end = to;
    this.line = firstLine;
  }

  int position() {
    return pos;
  }

  /** The end of this reader's range. */
  int end() {
    return end;
  }

  long line() {
    return line;
  }

  /** Decode strict UTF-8 (a leading byte-order mark is dropped). */
  static char[] decode(byte[] utf8, long firstLine) {
    int start = hasBom(utf8) ? 3 : 0;
    ByteBuffer in = ByteBuffer.wrap(utf8, start, utf8.length - start);
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    CharBuffer out = CharBuffer.allocate(utf8.length);
    CoderResult result = decoder.decode(in, out, true);
    if (result.isError()) {
      long line = firstLine + countNewlines(utf8, in.position());
      throw new CsvFormatException(
          line, "the bytes are not valid UTF-8 (byte offset " + in.position() + ")");
    }
    decoder.flush(out);
    return out.array().length == out.position()
        ? out.array()
        : java.util.Arrays.copyOf(out.array(), out.position());
  }

  private static boolean hasBom(byte[] b) {
    return b.length >= 3 && (b[0] & 0xFF) == 0xEF && (b[1] & 0xFF) == 0xBB && (b[2] & 0xFF) == 0xBF;
  }

  private static long countNewlines(byte[] bytes, int end) {
    long count = 0;
    for (int i = 0; i < end; i++) {
      if (bytes[i] == '\n') {
        count++;
      }
    }
    return count;
  }

  /** The header: the first non-blank record, every field named and unique. */
  String[] readHeader() {
    List<String> names = new ArrayList<>();
    if (!nextRecord(null, null, names)) {
      throw new CsvFormatException(line, "the CSV is empty; expected a header row");
    }
    Set<String> seen = new HashSet<>();
    for (String name : names) {
      if (name == null) {
        throw new CsvFormatException(recordLine, "the header has an empty column name");
      }
      if (!seen.add(name)) {
        throw new CsvFormatException(
            recordLine, "the header names column '" + name + "' twice");
      }
    }
    return names.toArray(new String[0]);
  }

  /**
   * Read the next data record into {@code out} (wanted fields only, others left null).
   *
   * <p>A wanted field marked in {@code numeric} that holds a plain decimal is read straight
   * into {@code numbers} and gets no string; every other field's number is NaN.
   *
   * @return false at the end of the range
   */
  boolean next(boolean[] wanted, boolean[] numeric, String[] out, double[] numbers) {
    java.util.Arrays.fill(out, null);
    java.util.Arrays.fill(numbers, Double.NaN);
    this.numeric = numeric;
    this.numbers = numbers;
    return nextRecord(wanted, out, null);
  }

  /** Skip blank lines, then read one record; false when the range is exhausted. */
  private boolean nextRecord(boolean[] wanted, String[] out, List<String> all) {
    while (pos < end) {
      recordLine = line;
      recordStart = pos;
      if (atLineEnd()) {
        skipLineEnd();
        continue;
      }
      int count = 0;
      while (true) {
        boolean keep = all != null || (count < wanted.length && wanted[count]);
        String value = readField(keep, all == null && keep && numeric[count] ? count : -1);
        if (all != null) {
          all.add(value);
        } else if (count < out.length) {
          out[count] = value;
        }
        count++;
        if (pos >= end) {
          recordEnd = pos;
          break;
        }
        if (text[pos] == ',') {
          pos++;
          continue;
        }
        recordEnd = pos;
        skipLineEnd();
        break;
      }
      if (out != null && count != out.length) {
        throw new CsvFormatException(
            recordLine, "expected " + out.length + " fields as in the header, found " + count);
      }
      return true;
    }
    return false;
  }

  private boolean atLineEnd() {
    char c = text[pos];
    return c == '\n' || c == '\r';
  }

  private void skipLineEnd() {
    if (text[pos] == '\r') {
      pos++;
      if (pos < end && text[pos] == '\n') {
        pos++;
      }
    } else {
      pos++;
    }
    line++;
  }

  /** Read one field; when {@code numberAt} is not -1, a plain decimal goes to numbers. */
  private String readField(boolean keep, int numberAt) {
    if (pos < end && text[pos] == '"') {
      return readQuotedField(keep);
    }
    int start = pos;
    while (pos < end) {
      char c = text[pos];
      if (c == ',' || c == '\n' || c == '\r') {
        break;
      }
      if (c == '"') {
        throw new CsvFormatException(
            line, "a double quote inside an unquoted field; quote the whole field");
      }
      pos++;
    }
    if (!keep || pos == start) {
      return null;
    }
    if (numberAt >= 0) {
      double number = DecimalText.parsePlainDecimal(text, start, pos);
      if (!Double.isNaN(number)) {
        numbers[numberAt] = number;
        return null;
      }
    }
    return new String(text, start, pos - start);
  }

  private String readQuotedField(boolean keep) {
    long openedOn = line;
    pos++;
    field.setLength(0);
    while (true) {
      if (pos >= end) {
        throw new CsvFormatException(
            openedOn, "a quoted field opened on this line is never closed");
      }
      char c = text[pos++];
      if (c == '"') {
        if (pos < end && text[pos] == '"') {
          if (keep) {
            field.append('"');
          }
          pos++;
          continue;
        }
        break;
      }
      if (c == '\n') {
        line++;
      }
      if (keep) {
        field.append(c);
      }
    }
    if (pos < end && text[pos] != ',' && !atLineEnd()) {
      throw new CsvFormatException(
          line, "unexpected character '" + text[pos] + "' after a closing double quote");
    }
    return keep && field.length() > 0 ? field.toString() : null;
  }

  /**
   * Cut {@code [from, to)} into at most {@code parts} ranges that start at record boundaries.
   *
   * <p>A line break ends a record when an even number of double quotes precede it within the
   * range (quotes inside quoted fields are doubled). Returns pairs of (start position, first
   * line) for each range; a malformed document still fails in the range that holds the fault.
   */
  static long[] split(char[] text, int from, int to, long firstLine, int parts) {
    long[] starts = new long[2 * parts];
    starts[0] = from;
    starts[1] = firstLine;
    int found = 1;
    long line = firstLine;
    boolean quoted = false;
    long target = from + (long) (to - from) * found / parts;
    for (int i = from; i < to && found < parts; i++) {
      char c = text[i];
      if (c == '"') {
        quoted = !quoted;
      } else if (c == '\n') {
        line++;
        if (!quoted && i + 1 >= target && i + 1 < to) {
          starts[2 * found] = i + 1;
          starts[2 * found + 1] = line;
          found++;
          target = from + (long) (to - from) * found / parts;
        }
      }
    }
    return java.util.Arrays.copyOf(starts, 2 * found);
  }

  /** Quote a field for output when it holds a comma, a quote or a line break. */
  static void appendField(StringBuilder out, String value) {
    if (value == null) {
      return;
    }
    boolean needsQuotes = false;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == ',' || c == '"' || c == '\n' || c == '\r') {
        needsQuotes = true;
        break;
      }
    }
    if (!needsQuotes) {
      out.append(value);
      return;
    }
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"') {
        out.append('"');
      }
      out.append(c);
    }
    out.append('"');
  }
}
