package mojoserve;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable byte buffer for text that is mostly ASCII: JSON rows written byte by byte. */
final class ByteSink {
  private byte[] bytes;
  private int size;

  ByteSink(int capacity) {
    bytes = new byte[Math.max(16, capacity)];
  }

  void append(byte[] chunk) {
    ensure(chunk.length);
    System.arraycopy(chunk, 0, bytes, size, chunk.length);
    size += chunk.length;
  }

  void append(byte b) {
    ensure(1);
    bytes[size++] = b;
  }

  /** Text that may hold any character, written as UTF-8. */
  void append(String text) {
    append(text.getBytes(StandardCharsets.UTF_8));
  }

  /** {@code text[from, to)} as UTF-8; ASCII, the usual case, byte by byte. */
  void appendChars(char[] text, int from, int to) {
    ensure(to - from);
    int at = size;
    for (int i = from; i < to; i++) {
      char c = text[i];
      if (c >= 0x80) {
        size = at;
        append(new String(text, i, to - i));
        return;
      }
      bytes[at++] = (byte) c;
    }
    size = at;
  }

  /** A probability, see {@link DecimalText#writeProbability}. */
  void appendProbability(double p) {
    ensure(DecimalText.MAX_PROBABILITY_CHARS);
    int end = DecimalText.writeProbability(p, bytes, size);
    if (end < 0) {
      append(Double.toString(p));
    } else {
      size = end;
    }
  }

  byte[] toByteArray() {
    return Arrays.copyOf(bytes, size);
  }

  private void ensure(int extra) {
    if (size + extra > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + extra));
    }
  }
}
