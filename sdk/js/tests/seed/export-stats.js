// Obtener estadísticas de todas las campañas
const campaigns = await fluenzr.campaigns.list();

for (const campaign of campaigns) {
  const stats = await fluenzr.campaigns.getStats(campaign.id);
  console.log(`${campaign.name}: ${stats.openRate}% aperturas, ${stats.replyRate}% respuestas`);
}
