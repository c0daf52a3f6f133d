package mojoserve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Big payloads cross between Python and the JVM as files in a private folder (on tmpfs when
 * there is one) instead of base64 text over the py4j socket: a file costs a copy, py4j's
 * encoding and escaping cost several passes over every byte on both sides.
 */
final class FileExchange {
  private FileExchange() {}

  /** Read a file the caller handed over, and delete it. */
  static byte[] take(String path) throws IOException {
    Path file = Paths.get(path);
    try {
      return Files.readAllBytes(file);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** Write bytes to a new file in {@code dir} (owner-only) and return its path. */
  static String put(byte[] data, String dir) throws IOException {
    Path file = Files.createTempFile(Paths.get(dir), "answer-", ".bin");
    try {
      Files.write(file, data);
    } catch (IOException exc) {
      Files.deleteIfExists(file);
      throw exc;
    }
    return file.toString();
  }
}
