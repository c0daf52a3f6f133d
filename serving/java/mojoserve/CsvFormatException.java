package mojoserve;

/** A CSV upload that cannot be read: the physical line and what is wrong there. */
public final class CsvFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private final long line;
  private final String problem;

  public CsvFormatException(long line, String problem) {
    super("line " + line + ": " + problem);
    this.line = line;
    this.problem = problem;
  }

  /** 1-based physical line of the input where the problem was found. */
  public long getLine() {
    return line;
  }

  public String getProblem() {
    return problem;
  }
}
