package mojoserve;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Strings packed into one byte array, so that a whole column crosses py4j in one call.
 *
 * <p>Layout (little endian): int32 count, then count int32 lengths in bytes (-1 for null),
 * then the UTF-8 bytes of every non-null string, back to back.
 */
final class PackedStrings {
  private PackedStrings() {}

  static String[] decode(byte[] packed) {
    ByteBuffer buffer = ByteBuffer.wrap(packed).order(ByteOrder.LITTLE_ENDIAN);
    int count = buffer.getInt();
    int[] lengths = new int[count];
    for (int i = 0; i < count; i++) {
      lengths[i] = buffer.getInt();
    }
    String[] values = new String[count];
    int offset = buffer.position();
    for (int i = 0; i < count; i++) {
      int length = lengths[i];
      if (length >= 0) {
        values[i] = new String(packed, offset, length, StandardCharsets.UTF_8);
        offset += length;
      }
    }
    return values;
  }

  static byte[] encode(String[] values) {
    byte[][] encoded = new byte[values.length][];
    int total = 4 + 4 * values.length;
    for (int i = 0; i < values.length; i++) {
      if (values[i] != null) {
        encoded[i] = values[i].getBytes(StandardCharsets.UTF_8);
        total += encoded[i].length;
      }
    }
    ByteBuffer buffer = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
    buffer.putInt(values.length);
    for (byte[] bytes : encoded) {
      buffer.putInt(bytes == null ? -1 : bytes.length);
    }
    for (byte[] bytes : encoded) {
      if (bytes != null) {
        buffer.put(bytes);
      }
    }
    return buffer.array();
  }
}
