import type { CaseFacts, Exhibit } from '../../src/domain/types.js';

/** Case facts sized like a real EB-1A case, so section HTML is representative. */
export const CASE_FACTS: CaseFacts = {
  beneficiary_name: 'Dr. Ada Benchmark',
  field: 'computational biology',
  awards: ['Young Investigator Award 2021', 'Best Paper, RECOMB 2022', 'National Science Medal (finalist) 2023'],
  memberships: ['International Society for Computational Biology (Fellow)', 'Royal Society of Biology (Member)'],
  publications: [
    'Fast alignment of long reads, Nature Methods 2020',
    'Protein folding at scale, Science 2021',
    'Graph genomes in practice, Genome Research 2022',
    'Single-cell atlases, Cell 2023',
  ],
};

/** Ten exhibits spread over the three criteria, as the upload endpoint would record them. */
export function benchExhibits(threadId: string, count = 10): Exhibit[] {
  const criteria = ['2.1', '2.2', '2.6'];
  return Array.from({ length: count }, (_, i) => {
    const exhibit_id = `${criteria[i % criteria.length]}.${String.fromCharCode(97 + Math.floor(i / 3))}`;
    const filename = `evidence ${i + 1} (certified copy).pdf`;
    const stored_name = `${exhibit_id}_evidence_${i + 1}__certified_copy_.pdf`;
    return {
      exhibit_id,
      filename,
      stored_name,
      file_path: `/api/exhibits/${threadId}/${stored_name}`,
      file_size: 180_000 + i * 7_919,
      mime_type: 'application/pdf',
      uploaded_at: new Date(Date.now()).toISOString(),
    };
  });
}
