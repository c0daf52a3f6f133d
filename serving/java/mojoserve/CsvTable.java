package mojoserve;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A CSV document (RFC 4180: comma separated, double-quoted fields, doubled quotes inside
 * quotes, line breaks inside quotes) read strictly into a header and rows of strings.
 *
 * <p>An empty field becomes {@code null} (missing). Blank lines are skipped. Every problem is
 * reported as a {@link CsvFormatException} with the physical line number, counted from {@code
 * firstLine}.
 */
final class CsvTable {
  final String[] header;
  final List<String[]> rows;
  /** The decoded document; record {@code i} is {@code text[start(i), end(i))} without its line end. */
  final char[] text;
  private final int[] spans;

  private CsvTable(String[] header, List<String[]> rows, char[] text, int[] spans) {
    this.header = header;
    this.rows = rows;
    this.text = text;
    this.spans = spans;
  }

  /** Start of record {@code index} in {@link #text}; record -1 is the header. */
  int start(int index) {
    return spans[2 * (index + 1)];
  }

  /** End (exclusive, before the line break) of record {@code index}; -1 is the header. */
  int end(int index) {
    return spans[2 * (index + 1) + 1];
  }

  /** Parse UTF-8 bytes; {@code firstLine} is the line number of the first byte. */
  static CsvTable parse(byte[] utf8, long firstLine) {
    char[] text = decode(utf8, firstLine);
    Reader reader = new Reader(text, firstLine);
    String[] header = reader.next();
    if (header == null) {
      throw new CsvFormatException(firstLine, "the CSV is empty; expected a header row");
    }
    checkHeader(header, firstLine);
    int[] spans = new int[64];
    spans[0] = reader.recordStart;
    spans[1] = reader.recordEnd;
    List<String[]> rows = new ArrayList<>();
    String[] row;
    while ((row = reader.next()) != null) {
      if (row.length != header.length) {
        throw new CsvFormatException(
            reader.recordLine,
            "expected " + header.length + " fields as in the header, found " + row.length);
      }
      rows.add(row);
      int slot = 2 * rows.size();
      if (slot + 1 >= spans.length) {
        spans = Arrays.copyOf(spans, spans.length * 2);
      }
      spans[slot] = reader.recordStart;
      spans[slot + 1] = reader.recordEnd;
    }
    return new CsvTable(header, rows, text, spans);
  }

  private static void checkHeader(String[] header, long line) {
    Set<String> seen = new HashSet<>();
    for (String name : header) {
      if (name == null) {
        throw new CsvFormatException(line, "the header has an empty column name");
      }
      if (!seen.add(name)) {
        throw new CsvFormatException(line, "the header names column '" + name + "' twice");
      }
    }
  }

  private static char[] decode(byte[] utf8, long firstLine) {
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
    out.flip();
    char[] chars = new char[out.remaining()];
    out.get(chars);
    return chars;
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

  /** A strict record reader over decoded characters. */
  private static final class Reader {
    private final char[] text;
    private int pos;
    private long line;
    long recordLine;
    int recordStart;
    int recordEnd;
    private final List<String> fields = new ArrayList<>();
    private final StringBuilder field = new StringBuilder();

    Reader(char[] text, long firstLine) {
      this.text = text;
      this.line = firstLine;
    }

    /** The next non-blank record, or null at the end of the input. */
    String[] next() {
      while (pos < text.length) {
        recordLine = line;
        recordStart = pos;
        fields.clear();
        boolean blank = readRecord();
        if (!blank) {
          return fields.toArray(new String[0]);
        }
      }
      return null;
    }

    /** Read one record into {@code fields}; true when the line was blank. */
    private boolean readRecord() {
      if (atLineEnd()) {
        skipLineEnd();
        return true;
      }
      while (true) {
        readField();
        if (pos >= text.length) {
          recordEnd = pos;
          return false;
        }
        char c = text[pos];
        if (c == ',') {
          pos++;
          continue;
        }
        recordEnd = pos;
        skipLineEnd();
        return false;
      }
    }

    private boolean atLineEnd() {
      char c = text[pos];
      return c == '\n' || c == '\r';
    }

    private void skipLineEnd() {
      if (text[pos] == '\r') {
        pos++;
        if (pos < text.length && text[pos] == '\n') {
          pos++;
        }
      } else {
        pos++;
      }
      line++;
    }

    private void readField() {
      if (pos < text.length && text[pos] == '"') {
        readQuotedField();
        return;
      }
      int start = pos;
      while (pos < text.length) {
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
      fields.add(pos == start ? null : new String(text, start, pos - start));
    }

    private void readQuotedField() {
      long openedOn = line;
      pos++;
      field.setLength(0);
      while (true) {
        if (pos >= text.length) {
          throw new CsvFormatException(
              openedOn, "a quoted field opened on this line is never closed");
        }
        char c = text[pos++];
        if (c == '"') {
          if (pos < text.length && text[pos] == '"') {
            field.append('"');
            pos++;
            continue;
          }
          break;
        }
        if (c == '\n') {
          line++;
        }
        field.append(c);
      }
      if (pos < text.length && text[pos] != ',' && !atLineEnd()) {
        throw new CsvFormatException(
            line, "unexpected character '" + text[pos] + "' after a closing double quote");
      }
      fields.add(field.length() == 0 ? null : field.toString());
    }
  }
}
