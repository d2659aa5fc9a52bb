package dev.wharf.ingest.validate;

/**
 * What is known about a file when its checks start.
 *
 * @param filename the sanitised file name
 * @param declaredType the media type the uploader declared, lower-case without parameters, or null
 * @param sniffed the type recognised from the first bytes
 * @param size the object size in bytes
 */
public record ContentFacts(String filename, String declaredType, SniffedType sniffed, long size) {}
